"""Train the shipped example models (torch, CPU, fixed seeds): ``python -m gru_viz train NAME``.

Each recipe trains an ``nn.GRU`` (with a one-hot or embedded input and a linear head), then
evaluates the saved float32 weights with gru-viz's own NumPy engine on held-out data made from
another seed, and writes a self-describing checkpoint. Because the metrics come from the saved
weights, ``evaluate(load_checkpoint(path))`` reproduces them exactly.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from gru_viz.analysis.units import linear
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.io.checkpoint import Checkpoint, load_checkpoint
from gru_viz.io.inputs import Vocabulary, one_hot
from gru_viz.io.savefile import save_checkpoint
from gru_viz.io.shipped import ASSETS
from gru_viz.training import tasks

THREADS = 1  # fixed: the same float sums on every machine; 2+ threads crawl on a busy machine


@dataclass(frozen=True)
class Recipe:
    name: str
    task: str  # "brackets" | "flipflop" | "pysource"
    summary: str
    hidden_size: int
    steps: int
    batch: int
    seq_len: int
    lr: float
    channels: int = 0  # flip-flop input channels
    embed: int = 0  # embedding size (0: one-hot input)
    seed: int = 0
    eval_seed: int = 1000
    clip: float = 1.0


RECIPES = {r.name: r for r in (
    Recipe("brackets", "brackets", "Next-character prediction on random nested brackets over "
           "'()[]' (depth ≤ 8). Only a closing bracket is predictable: it must match the "
           "innermost open one, so the state has to keep a stack; some units track the depth.",
           hidden_size=24, steps=2000, batch=64, seq_len=64, lr=3e-3),
    Recipe("flipflop", "flipflop", "3-bit flip-flop: pulses of ±1 arrive on 3 input channels; "
           "output c holds the sign of channel c's last pulse. The GRU must keep 8 stable "
           "states, one per stored pattern.",
           hidden_size=24, steps=1200, batch=64, seq_len=100, lr=3e-3, channels=3),
    Recipe("flipflop2", "flipflop", "1-bit flip-flop with only 2 hidden units, so its whole "
           "state space is a plane: two stable states (the stored +1 and −1) and the pulses "
           "that move between them.",
           hidden_size=2, steps=1000, batch=64, seq_len=100, lr=1e-2, channels=1),
    Recipe("pysource", "pysource", "Character-level language model on Python source (the "
           "standard library's own .py files). Look for units that follow quotes, brackets, "
           "indentation and line ends.",
           hidden_size=128, steps=1500, batch=32, seq_len=128, lr=3e-3, embed=32),
)}
SOURCE_TRAIN_CHARS, SOURCE_EVAL_SEQS, SOURCE_EVAL_LEN = 1_500_000, 40, 1000
BRACKET_TRAIN_SEQS, BRACKET_EVAL_SEQS = 8000, 500
FLIPFLOP_EVAL_SEQS, FLIP_P = 500, 0.05


def vocabulary(recipe: Recipe) -> Vocabulary | None:
    return {"brackets": Vocabulary(tuple(tasks.BRACKETS)),
            "pysource": Vocabulary(tuple(tasks.SOURCE_SYMBOLS))}.get(recipe.task)


# --- data: (x, y) batches for training, and held-out data for evaluation -----------------------

def _batches(recipe: Recipe) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """rng -> (x, y): x float inputs (B, T, I) or ids (B, T); y ids (B, T) or targets (B, T, C)."""
    B, T = recipe.batch, recipe.seq_len
    if recipe.task == "brackets":
        vocab = vocabulary(recipe)
        ids = np.stack([vocab.encode(s) for s in
                        tasks.brackets(BRACKET_TRAIN_SEQS, T + 1, recipe.seed, 8).texts])

        def draw(rng):
            pick = ids[rng.integers(len(ids), size=B)]
            return one_hot(pick[:, :-1].ravel(), 4, np.float32).reshape(B, T, 4), pick[:, 1:]
        return draw
    if recipe.task == "flipflop":
        def draw(rng):
            x, y = tasks.flipflop(B, T, recipe.channels, int(rng.integers(2**31)), FLIP_P)
            return x.astype(np.float32), y.astype(np.float32)
        return draw
    text = vocabulary(recipe).encode(tasks.python_source(SOURCE_TRAIN_CHARS, recipe.seed))

    def draw(rng):
        start = rng.integers(len(text) - T - 1, size=B)
        win = text[start[:, None] + np.arange(T + 1)]
        return win[:, :-1], win[:, 1:]
    return draw


# --- evaluation with the NumPy engine, from a checkpoint -------------------------------------

def _outputs(ckpt: Checkpoint, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """States (B, T, H) and head outputs (B, T, V') for inputs x: ids (B, T) or (B, T, I)."""
    if ckpt.embedding is not None:
        x = ckpt.embedding[x]
    h = run(ckpt.model, x).output
    return h, linear(h, ckpt.head_weight, ckpt.head_bias)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _classification(logits: np.ndarray, y: np.ndarray) -> dict[str, float]:
    logp = _log_softmax(logits.astype(np.float64))
    loss = float(-np.take_along_axis(logp, y[..., None], -1).mean())
    return {"loss": loss, "accuracy": float((logits.argmax(-1) == y).mean())}


def evaluate(ckpt: Checkpoint, recipe: Recipe) -> dict[str, Any]:
    """Metrics on held-out data (made from ``recipe.eval_seed``), from the checkpoint's arrays."""
    if recipe.task == "flipflop":
        x, y = tasks.flipflop(FLIPFLOP_EVAL_SEQS, recipe.seq_len, recipe.channels,
                              recipe.eval_seed, FLIP_P)
        _, out = _outputs(ckpt, x.astype(np.float32))
        return {"mse": float(((out - y) ** 2).mean()),
                "sign_accuracy": float((np.sign(out) == y).mean())}
    vocab = ckpt.vocabulary
    if recipe.task == "brackets":
        data = tasks.brackets(BRACKET_EVAL_SEQS, recipe.seq_len + 1, recipe.eval_seed, 8)
        ids = np.stack([vocab.encode(s) for s in data.texts])
        x = one_hot(ids[:, :-1].ravel(), 4, np.float32).reshape(*ids[:, :-1].shape, 4)
        h, logits = _outputs(ckpt, x)
        y, depth = ids[:, 1:], data.depth[:, :-1]
        closing = np.isin(y, vocab.encode(tasks.CLOSERS))
        hc, dc = h.reshape(-1, h.shape[-1]), depth.ravel().astype(np.float64)
        corr = np.array([np.corrcoef(hc[:, j], dc)[0, 1] for j in range(hc.shape[1])])
        best = int(np.nanargmax(np.abs(corr)))
        # the best possible loss: the true next-symbol distribution follows from the depth
        p_close = np.where(depth == 0, 0.0, np.where(depth == 8, 1.0, 0.5))
        ent = -(p_close * np.log(np.where(p_close > 0, p_close, 1))
                + (1 - p_close) * np.log(np.where(p_close < 1, (1 - p_close) / 2, 1)))
        return _classification(logits, y) | {
            "closing_accuracy": float((logits.argmax(-1) == y)[closing].mean()),
            "optimal_loss": float(ent.mean()),
            "depth_unit": best, "depth_correlation": float(corr[best])}
    # the files after the training text in the same shuffled order
    text = tasks.python_source(SOURCE_EVAL_SEQS * (SOURCE_EVAL_LEN + 1), recipe.seed,
                               skip=SOURCE_TRAIN_CHARS)
    ids = vocab.encode(text).reshape(SOURCE_EVAL_SEQS, SOURCE_EVAL_LEN + 1)
    parts = [_classification(_outputs(ckpt, ids[k:k + 10, :-1])[1], ids[k:k + 10, 1:])
             for k in range(0, SOURCE_EVAL_SEQS, 10)]  # in groups: bounded trace memory
    loss = float(np.mean([p["loss"] for p in parts]))
    return {"loss": loss, "bits_per_char": float(loss / np.log(2)),
            "accuracy": float(np.mean([p["accuracy"] for p in parts]))}


# --- training --------------------------------------------------------------------------------

@contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    """Fixed seed and thread count. (torch.use_deterministic_algorithms is left off: the CPU
    kernels used here are deterministic already, and it imports torch's compiler, ~10 s.)"""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _fit(recipe: Recipe, log: Callable[[str], None]) -> dict[str, np.ndarray]:
    """Train; returns the float32 state dict (``gru.*``, ``embedding.weight``, ``head.*``)."""
    import torch
    from torch import nn

    vocab = vocabulary(recipe)
    I = recipe.embed or (recipe.channels if recipe.task == "flipflop" else len(vocab))
    out_size = recipe.channels if recipe.task == "flipflop" else len(vocab)
    net = nn.ModuleDict({"gru": nn.GRU(I, recipe.hidden_size, batch_first=True),
                         "head": nn.Linear(recipe.hidden_size, out_size)})
    if recipe.embed:
        net["embedding"] = nn.Embedding(len(vocab), recipe.embed)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    draw, rng = _batches(recipe), np.random.default_rng(recipe.seed)
    for step in range(recipe.steps):
        x, y = (torch.from_numpy(a) for a in draw(rng))
        if recipe.embed:
            x = net["embedding"](x)
        out = net["head"](net["gru"](x)[0])
        if recipe.task == "flipflop":
            loss = nn.functional.mse_loss(out, y)
        else:
            loss = nn.functional.cross_entropy(out.reshape(-1, out_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), recipe.clip)
        opt.step()
        if step % 100 == 0 or step == recipe.steps - 1:
            log(f"{recipe.name} step {step}: training loss {loss.item():.4f}")
    return {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}


def train(name: str, out: str | Path | None = None, steps: int | None = None,
          seed: int | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train recipe ``name`` and save it (default ``assets/NAME.pt``); returns its metrics.

    ``steps``/``seed`` override the recipe (a short run for tests); the saved file records the
    recipe actually used and the command that reproduces it.
    """
    recipe = RECIPES[name]
    recipe = replace(recipe, steps=recipe.steps if steps is None else steps,
                     seed=recipe.seed if seed is None else seed)
    out = Path(out) if out is not None else ASSETS / f"{name}.pt"
    with _deterministic(recipe.seed):
        start = time.perf_counter()
        sd = _fit(recipe, log)
        seconds = time.perf_counter() - start
    import torch

    command = f"python -m gru_viz train {name}" + (
        "" if recipe == RECIPES[name] else f" --steps {recipe.steps} --seed {recipe.seed}")
    model = GRUModel.from_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("gru.")})
    vocab = vocabulary(recipe)
    arrays = {"embedding": sd.get("embedding.weight"), "head_weight": sd["head.weight"],
              "head_bias": sd["head.bias"]}
    description = {"name": name, "task": recipe.task, "summary": recipe.summary,
                   "input": ("embedded characters" if recipe.embed else "one-hot characters")
                   if vocab else f"{recipe.channels} pulse channel(s), values in {{-1, 0, 1}}",
                   "head": "next-character logits (softmax)" if vocab else
                   "held sign per channel (linear, trained with MSE to ±1)"}
    training = {k: v for k, v in asdict(recipe).items() if k != "summary"} | {
        "command": command, "optimizer": "Adam", "threads": THREADS, "seconds": round(seconds, 1),
        "torch": torch.__version__, "python": platform.python_version()}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out, model, vocabulary=vocab, description=description, training=training,
                    **arrays)
    metrics = evaluate(load_checkpoint(out), recipe)
    save_checkpoint(out, model, vocabulary=vocab, description=description, training=training,
                    metrics=metrics, **arrays)
    log(f"{name}: {seconds:.0f} s, {metrics}, saved to {out}")
    return metrics
