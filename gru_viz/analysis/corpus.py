"""Statistics of every unit over a whole corpus, accumulated in batches, never the full trace.

``corpus_stats(checkpoint, "corpus/", out="stats.gruviz-corpus.npz")`` (or ``python -m gru_viz
corpus MODEL CORPUS --out ...``) runs the GRU over every document of a corpus (see
``gru_viz.io.corpus`` for what a document is) and keeps, per layer, direction and unit:

- ``{f}.sum``, ``{f}.sumsq``  sums of the values and of their squares (f = z, r, n, h)
- ``{f}.hist``  counts in ``bins`` fixed bins over the field's range (values outside go to the
  end bins), so files merge by adding
- ``{g}.below``, ``{g}.above``  steps with gate g < ``left`` and > ``right`` (saturation)
- ``dh.sum``  (V, H) sums of h_t − h_{t−1} per symbol read (expected response, RNNVis), with
  ``symbol.count`` (V,)
- ``{f}.top.*``, ``{f}.bottom.*``  the ``top_k`` positions (document, offset) where each unit's
  value is highest / lowest, with the value of every unit there and the tokens around it, so
  the explorer's unit search and matches run over the whole corpus without recomputing it
- ``loss.sum``, ``loss.count``, ``loss.correct`` (V,) per next symbol, when the model has a head
  that scores its symbols: −log p(x_t | h_{t−1}) and whether the top score was x_t, for every
  t ≥ 1 of a document (the first symbol has no state to predict it from)

Every statistic is a sum, a count or a top-k merged by (value, document, offset), so shards
merge exactly (``CorpusStats.merge``).

Speed: each chunk of ``chunk`` steps of ``batch`` streams runs torch's fused ``nn.GRU`` for the
states (a torch loop for reset-before models, which ``nn.GRU`` does not have), then recomputes
every gate for all steps of the chunk at once from h_{t−1} with whole-chunk matrix products.

Streams and the state (``mode``):

- ``exact`` (default): every document is one stream, run from h0 = 0 to its end with the state
  carried across every chunk; the batch holds ``batch`` documents at once. Exact, and fast when
  the corpus has many documents; a corpus of a few long documents runs few streams at a time.
- ``segments``: each document is cut into contiguous segments (about tokens / batch long, or
  ``segment``), run as parallel streams. A segment's state starts from h0 = 0 ``warmup`` tokens
  before it (those tokens run but are not counted), so its first steps see an approximate
  state; ``exact`` is the reference.

A bidirectional model's reverse direction reads each document from its end, so its
documents run whole, one at a time (exact mode only; no next-symbol loss, since its output has
seen the next symbol).

Interrupting (Ctrl-C) saves the accumulated statistics, the carried states and each stream's
position to ``<out>.partial.npz``, as does a periodic save; the same command resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gru_viz.core.errors import GRUVizError, InputError
from gru_viz.core.model import GRUModel
from gru_viz.io.corpus import Corpus, open_corpus
from gru_viz.io.inputs import Vocabulary

FORMAT = "gru-viz-corpus"
VERSION = 1
SUFFIX = ".gruviz-corpus.npz"
FIELDS = ("z", "r", "n", "h")
GATES = ("z", "r")
RANGES = {"z": (0.0, 1.0), "r": (0.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}
SIGNS = {"top": 1.0, "bottom": -1.0}
MODES = ("exact", "segments")
RECORDERS = ("auto", "fused", "loop")
MAX_WHOLE = 2_000_000  # tokens of one document run whole (bidirectional models)
BLOCK = 256  # rows per block when looking for the top-k index's candidates


@dataclass(frozen=True)
class Options:
    """How a corpus job runs; all but ``device``, ``threads`` and ``state_every`` shape the
    result (a resumed job must use the same)."""

    batch: int = 64
    chunk: int = 256
    mode: str = "exact"
    warmup: int = 128
    segment: int | None = None
    split: str = "file"
    bins: int = 20
    left: float = 0.1
    right: float = 0.9
    top_k: int = 16
    context: int = 12
    dtype: str = "float32"
    recorder: str = "auto"
    device: str = "auto"
    threads: int | None = None
    state_every: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be float32 or float64; got {self.dtype!r}.")
        for name in ("batch", "chunk", "bins"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1.")
        if self.top_k < 0:
            raise InputError("top_k must be ≥ 0 (0: no index of positions).")
        if self.warmup < 0 or self.context < 0 or (self.segment is not None and self.segment < 1):
            raise InputError("warmup and context must be ≥ 0, segment ≥ 1.")
        if not 0 <= self.left <= self.right <= 1:
            raise InputError("Saturation thresholds need 0 ≤ left ≤ right ≤ 1.")

    def shaping(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("device", "threads", "state_every"):
            d.pop(k)
        return d


# --- what runs: a model with what feeds it and reads it -----------------------------------------

@dataclass(frozen=True, eq=False)
class Subject:
    """A GRU with its embedding (or one-hot input), optional linear head and vocabulary."""

    model: GRUModel
    embedding: np.ndarray | None = None
    head_weight: np.ndarray | None = None
    head_bias: np.ndarray | None = None
    vocabulary: Vocabulary | None = None

    @property
    def kind(self) -> str:
        """"ids" when it reads symbols, else "vectors"."""
        return "ids" if self.embedding is not None or self.vocabulary is not None else "vectors"

    @property
    def symbols(self) -> int | None:
        if self.kind != "ids":
            return None
        return self.embedding.shape[0] if self.embedding is not None else self.model.input_size

    @property
    def scores_symbols(self) -> bool:
        """A head that scores the next symbol (not for a bidirectional GRU: it saw it)."""
        return self.head_weight is not None and self.symbols is not None \
            and self.head_weight.shape[0] == self.symbols and not self.model.bidirectional

    def symbol_names(self) -> list[str] | None:
        if self.symbols is None:
            return None
        if self.vocabulary is not None:
            return list(self.vocabulary.symbols)
        return [str(i) for i in range(self.symbols)]


def subject_of(source) -> Subject:
    """A Subject from a Checkpoint, a GRUModel or a Subject."""
    if isinstance(source, Subject):
        return source
    if isinstance(source, GRUModel):
        return Subject(source)
    return Subject(source.model, source.embedding, source.head_weight, source.head_bias,
                   source.vocabulary)


def model_digest(subject) -> str:
    """sha256 of every weight that shapes the statistics (GRU, embedding, head, reset)."""
    s = subject_of(subject)
    h = hashlib.sha256(f"reset_after={s.model.reset_after}".encode())
    parts = sorted(s.model.state_dict().items())
    parts += [(n, a) for n, a in (("embedding", s.embedding), ("head.weight", s.head_weight),
                                  ("head.bias", s.head_bias)) if a is not None]
    for name, a in parts:
        a = np.ascontiguousarray(a)
        h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    if s.vocabulary is not None:
        h.update(json.dumps(s.vocabulary.symbols).encode())
    return h.hexdigest()


def cell_prefix(layer: int, reverse: bool) -> str:
    return f"l{layer}" + ("_reverse" if reverse else "")


# --- the statistics file -----------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Top:
    """One unit's indexed positions, best first: ``value`` is the unit's own value there."""

    doc: np.ndarray  # (k,) document index (−1: empty)
    offset: np.ndarray  # (k,) token offset in the document
    value: np.ndarray  # (k,)
    rows: np.ndarray  # (k, H) every unit's value (same field) at that position
    context: np.ndarray | None  # (k, 2C + 1) ids around it (−1 outside the document)


@dataclass(frozen=True, eq=False)
class CorpusStats:
    """A corpus job's result: ``meta`` (JSON-able) and ``arrays`` (names as listed above,
    prefixed by the cell, e.g. ``l0.h.hist``)."""

    meta: dict
    arrays: Mapping[str, np.ndarray]

    # reading ------------------------------------------------------------------------------
    @property
    def tokens(self) -> int:
        return int(self.arrays["tokens"])

    @property
    def cells(self) -> list[tuple[int, int]]:
        return [(k, d) for k in range(self.meta["layers"]) for d in range(self.meta["directions"])]

    def get(self, layer: int, direction: int, name: str) -> np.ndarray:
        return self.arrays[f"{cell_prefix(layer, direction == 1)}.{name}"]

    def mean(self, layer: int, direction: int, f: str) -> np.ndarray:
        return self.get(layer, direction, f"{f}.sum") / max(self.tokens, 1)

    def std(self, layer: int, direction: int, f: str) -> np.ndarray:
        m = self.mean(layer, direction, f)
        return np.sqrt(np.maximum(self.get(layer, direction, f"{f}.sumsq")
                                  / max(self.tokens, 1) - m * m, 0))

    def saturation(self, layer: int, direction: int, gate: str) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) fractions (H,) of steps below ``meta['left']`` / above ``right``."""
        n = max(self.tokens, 1)
        return (self.get(layer, direction, f"{gate}.below") / n,
                self.get(layer, direction, f"{gate}.above") / n)

    def response(self, layer: int, direction: int):
        """The expected response as ``analysis.units.Response`` (None without symbols)."""
        from gru_viz.analysis.units import Response

        key = f"{cell_prefix(layer, direction == 1)}.dh.sum"
        if key not in self.arrays:
            return None
        return Response(self.arrays[key], self.arrays["symbol.count"])

    def top(self, layer: int, direction: int, f: str, unit: int, sign: str = "top") -> Top:
        p = f"{cell_prefix(layer, direction == 1)}.{f}.{sign}"
        keep = self.arrays[f"{p}.doc"][unit] >= 0
        ctx = self.arrays.get(f"{p}.context")
        s = SIGNS[sign]
        return Top(self.arrays[f"{p}.doc"][unit][keep], self.arrays[f"{p}.offset"][unit][keep],
                   s * self.arrays[f"{p}.value"][unit][keep], self.arrays[f"{p}.rows"][unit][keep],
                   None if ctx is None else ctx[unit][keep])

    def matches(self, layer: int, direction: int, f: str, units, threshold, sign: float = 1.0
                ) -> list[tuple[int, int, np.ndarray, np.ndarray | None]]:
        """Indexed positions where every one of ``units`` is ≥ ``threshold`` (sign −1: −value ≥
        threshold), from the positions where any of them is highest (lowest): a list of
        (document, offset, values of the units there, context), strongest first."""
        units = np.asarray(units, np.int64)
        thr = np.broadcast_to(np.asarray(threshold, float), (self.meta["hidden_size"],))[units]
        which = "top" if sign > 0 else "bottom"
        seen, found = set(), []
        for u in units:
            t = self.top(layer, direction, f, int(u), which)
            for j in range(len(t.doc)):
                key = (int(t.doc[j]), int(t.offset[j]))
                if key in seen:
                    continue
                seen.add(key)
                vals = t.rows[j][units]
                if np.all(sign * vals >= thr):
                    found.append((*key, vals, None if t.context is None else t.context[j]))
        found.sort(key=lambda m: (-float(np.min(sign * m[2] - thr)), m[0], m[1]))
        return found

    def loss(self) -> dict[str, float] | None:
        """Mean loss (nats), bits per symbol and accuracy over every predicted position."""
        if "loss.sum" not in self.arrays:
            return None
        n = int(self.arrays["loss.count"].sum())
        total = float(self.arrays["loss.sum"].sum())
        return {"positions": n, "loss": total / max(n, 1),
                "bits_per_symbol": total / max(n, 1) / math.log(2),
                "accuracy": int(self.arrays["loss.correct"].sum()) / max(n, 1)}

    def doc_name(self, doc: int) -> str:
        return self.meta.get("doc_names", {}).get(str(int(doc)), f"document {int(doc)}")

    def belongs_to(self, subject) -> bool:
        return self.meta.get("model_sha256") == model_digest(subject)

    # merging and files --------------------------------------------------------------------
    def merge(self, other: CorpusStats) -> CorpusStats:
        """The statistics of both corpora (disjoint parts of one corpus): sums add, top-k
        lists merge by (value, document, offset)."""
        a, b = dict(self.arrays), other.arrays
        for key in ("model_sha256", "layers", "hidden_size", "options"):
            if self.meta.get(key) != other.meta.get(key):
                raise GRUVizError(f"These statistics cannot merge: their {key} differ.")
        k = self.meta["options"]["top_k"]
        for name in a:
            if name.endswith(".value"):
                p = name[: -len(".value")]
                merged = merge_top(_top_dict(a, p), _top_dict(b, p), k)
                a.update({f"{p}.{n}": v for n, v in merged.items()})
        for name in a:
            if not _is_top(name):
                a[name] = a[name] + b[name]
        meta = dict(self.meta)
        meta["doc_names"] = self.meta.get("doc_names", {}) | other.meta.get("doc_names", {})
        meta["seconds"] = self.meta.get("seconds", 0) + other.meta.get("seconds", 0)
        meta["skipped"] = max(self.meta.get("skipped", 0), other.meta.get("skipped", 0))
        return CorpusStats(meta, a)

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(self.meta)), **self.arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, source: str | os.PathLike | bytes, max_mb: float | None = None) -> CorpusStats:
        """Read a statistics file (untrusted: no pickles; with ``max_mb``, refused when its
        arrays unpack to more) and check that its arrays fit together."""
        import io
        import zipfile

        try:
            f = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
            if max_mb is not None:
                from gru_viz.core.limits import check_unpacked

                with zipfile.ZipFile(f) as zf:
                    check_unpacked(zf.infolist(), "The statistics file", max_mb)
                if isinstance(f, io.BytesIO):
                    f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except InputError:
            raise
        except Exception as exc:  # not an npz, truncated, no meta
            raise InputError(f"Not a corpus statistics file ({type(exc).__name__}: "
                             f"{str(exc)[:120]}).") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                or meta.get("version") != VERSION:
            raise InputError("Not a gru-viz corpus statistics file (no gru-viz-corpus format "
                             "entry of a known version).")
        stats = cls(meta, arrays)
        stats.check()
        return stats

    def check(self) -> None:
        """Raise InputError unless every array the views read has the shape the meta implies."""
        m, a = self.meta, self.arrays
        try:
            H, L, D = int(m["hidden_size"]), int(m["layers"]), int(m["directions"])
            bins, k = int(m["options"]["bins"]), int(m["options"]["top_k"])
            V = len(m["symbols"]) if m.get("symbols") is not None else None
        except (KeyError, TypeError, ValueError):
            raise InputError("The statistics file's description is incomplete.") from None
        want = _shapes(H, L, D, bins, k, V, bool(m.get("has_loss")))
        for name, shape in want.items():
            if name not in a or a[name].shape != shape or a[name].dtype.kind not in "biuf":
                raise InputError(f"The statistics file's {name!r} is missing or not of shape "
                                 f"{shape}.")


def _shapes(H: int, L: int, D: int, bins: int, k: int, V: int | None, loss: bool
            ) -> dict[str, tuple[int, ...]]:
    """The shape of every array a statistics file of these sizes holds."""
    want: dict[str, tuple[int, ...]] = {"tokens": ()}
    if V is not None:
        want["symbol.count"] = (V,)
    for p in (cell_prefix(layer, d == 1) for layer in range(L) for d in range(D)):
        for f in FIELDS:
            want |= {f"{p}.{f}.sum": (H,), f"{p}.{f}.sumsq": (H,), f"{p}.{f}.hist": (H, bins)}
            for s in SIGNS if k else ():
                want |= {f"{p}.{f}.{s}.value": (H, k), f"{p}.{f}.{s}.doc": (H, k),
                         f"{p}.{f}.{s}.offset": (H, k), f"{p}.{f}.{s}.rows": (H, k, H)}
        for g in GATES:
            want |= {f"{p}.{g}.below": (H,), f"{p}.{g}.above": (H,)}
        if V is not None:
            want[f"{p}.dh.sum"] = (V, H)
    if loss:
        want |= {n: (V,) for n in ("loss.sum", "loss.count", "loss.correct")}
    return want


def _is_top(name: str) -> bool:
    return any(f".{s}." in name for s in SIGNS)


def _top_dict(arrays: Mapping[str, np.ndarray], p: str) -> dict[str, np.ndarray]:
    return {n: arrays[f"{p}.{n}"] for n in ("value", "doc", "offset", "rows", "context")
            if f"{p}.{n}" in arrays}


def merge_top(a: dict[str, np.ndarray], b: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Per unit, the k best of both lists by (signed value desc, document asc, offset asc);
    empty entries (doc −1, value −inf) go last. Arrays are (H, m) or (H, m, ...)."""
    cat = {n: np.concatenate([a[n], b[n]], axis=1) for n in a}
    doc = np.where(cat["doc"] < 0, np.iinfo(np.int64).max, cat["doc"])
    order = np.lexsort((cat["offset"], doc, -cat["value"]), axis=-1)[:, :k]
    return {n: np.take_along_axis(v, order.reshape(order.shape + (1,) * (v.ndim - 2)), axis=1)
            for n, v in cat.items()}


def empty_top(H: int, k: int, dtype, context: int | None) -> dict[str, np.ndarray]:
    out = {"value": np.full((H, k), -np.inf), "doc": np.full((H, k), -1, np.int64),
           "offset": np.full((H, k), -1, np.int64), "rows": np.zeros((H, k, H), dtype)}
    if context is not None:
        out["context"] = np.full((H, k, 2 * context + 1), -1, np.int32)
    return out


# --- the chunk engine ---------------------------------------------------------------------------

def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class ChunkEngine:
    """Runs a chunk of B streams for T steps and gives every gate of every layer (torch)."""

    def __init__(self, subject: Subject, dtype: str, device: str, recorder: str = "auto"
                 ) -> None:
        import torch

        self.torch, self.subject = torch, subject
        self.dtype = getattr(torch, dtype)
        self.device = torch.device(device)
        if recorder not in RECORDERS:
            raise InputError(f"recorder must be one of {', '.join(RECORDERS)}; got {recorder!r}.")
        self.recorder = recorder if recorder != "auto" else (
            "fused" if self.device.type == "cuda" else "loop")
        m = subject.model
        self.H, self.D = m.hidden_size, m.num_directions
        if self.D == 2:
            self.recorder = "loop"  # both directions in the recording loop

        def t(a):
            return torch.as_tensor(np.array(a)).to(self.device, self.dtype)

        self.cells = []  # [k][d]: (nn.GRU or None, fused weights, reset_after)
        for layer in m.cells:
            self.cells.append([self._cell(w, t) for w in layer])
        self.layers = [c[0] for c in self.cells]  # forward cells
        self.emb = None if subject.embedding is None else t(subject.embedding)
        self.table = None  # symbols: layer 0's input side x W_iᵀ + b_i for each symbol (V, 3H)
        if subject.kind == "ids":
            rows = self.emb if self.emb is not None else torch.eye(m.input_size).to(
                self.device, self.dtype)
            self.table = [torch.addmm(c[1]["bias_ih"], rows, c[1]["weight_ih"].T)
                          for c in self.cells[0]]
        self.head_w = t(subject.head_weight) if subject.scores_symbols else None
        self.head_b = (t(subject.head_bias) if subject.head_bias is not None
                       else None) if subject.scores_symbols else None
        if self.head_w is not None:
            self.head_b_col = (self.head_b if self.head_b is not None else torch.zeros(
                self.head_w.shape[0], dtype=self.dtype, device=self.device))[:, None]

    def _cell(self, w, t):
        torch = self.torch
        fused = {n: t(a) for n, a in w.fused().items()}
        gru = None
        if w.reset_after:
            gru = torch.nn.GRU(w.input_size, self.H, 1, batch_first=True)
            gru = gru.to(self.device, self.dtype)
            with torch.no_grad():
                for n, a in fused.items():
                    getattr(gru, f"{n}_l0").copy_(a)
            if self.device.type == "cuda":
                gru.flatten_parameters()
        return gru, fused, w.reset_after

    def logits(self, h):
        """The head's scores, transposed: (V, N) for states h (N, D·H)."""
        return self.torch.addmm(self.head_b_col, self.head_w, h.T)

    def inputs(self, tokens: np.ndarray):
        """(B, T) ids or (B, T, I) vectors -> (B, T, I) on the device."""
        torch = self.torch
        x = torch.from_numpy(tokens).to(self.device)
        if self.subject.kind == "vectors":
            return x.to(self.dtype)
        if self.emb is not None:
            return self.emb[x]
        return torch.nn.functional.one_hot(x, self.subject.model.input_size).to(self.dtype)

    def _states(self, gru, p, reset_after, x, h0):
        torch = self.torch
        if gru is not None:
            return gru(x, h0[None])[0]
        H, T = self.H, x.shape[1]  # reset before: a torch loop (nn.GRU has only reset after)
        gi = torch.addmm(p["bias_ih"], x.reshape(-1, x.shape[-1]), p["weight_ih"].T)
        gi = gi.reshape(x.shape[0], T, 3 * H)
        W_rz, b_rz = p["weight_hh"][:2 * H].T, p["bias_hh"][:2 * H]
        W_n, b_n = p["weight_hh"][2 * H:].T, p["bias_hh"][2 * H:]
        out, h = x.new_empty((x.shape[0], T, H)), h0
        for s in range(T):
            rz = torch.sigmoid(torch.addmm(b_rz, h, W_rz).add_(gi[:, s, :2 * H]))
            r, z = rz[:, :H], rz[:, H:]
            n = torch.tanh(torch.addmm(b_n, r * h, W_n).add_(gi[:, s, 2 * H:]))
            h = n + z * (h - n)
            out[:, s] = h
        return out

    def run(self, x, h0, ids=None):
        """x (B, T, I), h0 (L, B, H) -> ([{z, r, n, h, h_prev} (B·T, H) per layer], h_T (L, B, H)).

        The input side a = x W_iᵀ + b_i of all steps is one product (for symbols ``ids``
        (B·T,), rows of a per-symbol table). Then either recorder:

        - ``fused``: the states from ``nn.GRU``'s fused kernel, then every gate of the chunk at
          once from h_{t−1} with whole-chunk products (parallel over time: fast on a GPU);
        - ``loop``: a torch loop over the steps that writes every gate as it goes, each op into
          the recorded arrays (on CPU about half the time of the fused states plus the
          recomputation, ``benchmarks/bench_corpus.py``).
        """
        torch = self.torch
        B, T = x.shape[:2]
        H, D, out_layers, finals = self.H, self.D, [], []
        with torch.no_grad():
            for k, cells in enumerate(self.cells):
                outs = []
                for d, (gru, p, reset_after) in enumerate(cells):
                    if k == 0 and ids is not None and self.table is not None:
                        gi = self.table[d][ids]
                    else:
                        gi = torch.addmm(p["bias_ih"], x.reshape(B * T, -1), p["weight_ih"].T)
                    if self.recorder == "loop":
                        rec, out = self._loop(p, reset_after, gi.view(B, T, 3 * H),
                                              h0[k * D + d], reverse=d == 1)
                    else:
                        rec, out = self._fused(gru, p, reset_after, x, gi, h0[k])
                    out_layers.append(rec)
                    finals.append(out[:, 0 if d else -1])
                    outs.append(out)
                x = outs[0] if D == 1 else torch.cat(outs, -1)
        return out_layers, torch.stack(finals)

    def _fused(self, gru, p, reset_after, x, gi, h0):
        torch, H = self.torch, self.H
        B, T = x.shape[:2]
        out = self._states(gru, p, reset_after, x, h0)
        hp = torch.cat([h0[:, None], out[:, :-1]], 1).reshape(B * T, H)
        if reset_after:
            gh = torch.addmm(p["bias_hh"], hp, p["weight_hh"].T)
            rz = torch.sigmoid(gi[:, :2 * H].add_(gh[:, :2 * H]))
            r, z = rz[:, :H], rz[:, H:]
            n = torch.tanh(gi[:, 2 * H:].addcmul_(r, gh[:, 2 * H:]))
        else:
            gh = torch.addmm(p["bias_hh"][:2 * H], hp, p["weight_hh"][:2 * H].T)
            rz = torch.sigmoid(gi[:, :2 * H].add_(gh))
            r, z = rz[:, :H], rz[:, H:]
            hn = torch.addmm(p["bias_hh"][2 * H:], r * hp, p["weight_hh"][2 * H:].T)
            n = torch.tanh(gi[:, 2 * H:].add_(hn))
        return {"z": z.contiguous(), "r": r.contiguous(), "n": n, "h": out.reshape(B * T, H),
                "h_prev": hp}, out

    def _loop(self, p, reset_after, gi, h0, reverse=False):
        """gi (B, T, 3H) -> the records, every op writing into them (batch-major views).

        hs[:, t + 1] is the state after step t reading forward (hs[:, 0] = h0); reading in
        reverse, hs[:, t] is the state after step t (hs[:, T] = h0)."""
        torch, H = self.torch, self.H
        B, T = gi.shape[:2]
        rz = gi.new_empty((B, T, 2 * H))
        n = gi.new_empty((B, T, H))
        hs = gi.new_empty((B, T + 1, H))
        hs[:, T if reverse else 0] = h0
        if reset_after:
            W, b = p["weight_hh"].T.contiguous(), p["bias_hh"]
            gh = gi.new_empty((B, 3 * H))
        else:
            W, b = p["weight_hh"][:2 * H].T.contiguous(), p["bias_hh"][:2 * H]
            W_n, b_n = p["weight_hh"][2 * H:].T.contiguous(), p["bias_hh"][2 * H:]
            gh, d = gi.new_empty((B, 2 * H)), gi.new_empty((B, H))
        h = hs[:, T if reverse else 0].contiguous()
        addmm, add, sub, addcmul = torch.addmm, torch.add, torch.sub, torch.addcmul
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            addmm(b, h, W, out=gh)
            a = rz[:, t]
            add(gi[:, t, :2 * H], gh[:, :2 * H], out=a)
            a.sigmoid_()
            nt = n[:, t]
            if reset_after:  # n = tanh(a_n + r ⊙ (W_hn h + b_hn))
                addcmul(gi[:, t, 2 * H:], a[:, :H], gh[:, 2 * H:], out=nt)
            else:  # n = tanh(a_n + W_hn (r ⊙ h) + b_hn)
                torch.mul(a[:, :H], h, out=d)
                addmm(b_n, d, W_n, out=nt)
                nt.add_(gi[:, t, 2 * H:])
            nt.tanh_()
            ht = hs[:, t if reverse else t + 1]
            sub(h, nt, out=ht)  # h = n + z ⊙ (h_prev − n)
            ht.mul_(a[:, H:]).add_(nt)
            h = ht
        rz, n = rz.view(B * T, 2 * H), n.view(B * T, H)
        out, prev = (hs[:, :-1], hs[:, 1:]) if reverse else (hs[:, 1:], hs[:, :-1])
        # contiguous fields: the statistics' reductions and gathers run several times faster
        return {"z": rz[:, H:].contiguous(), "r": rz[:, :H].contiguous(), "n": n,
                "h": out.reshape(B * T, H), "h_prev": prev.reshape(B * T, H)}, out


# --- accumulating ------------------------------------------------------------------------------

class Accumulator:
    """Running sums on the device (torch) and top-k lists (NumPy), for every cell."""

    def __init__(self, subject: Subject, opts: Options, engine: ChunkEngine) -> None:
        torch = engine.torch
        self.torch, self.opts, self.dev = torch, opts, engine.device
        m = subject.model
        H, V = m.hidden_size, subject.symbols
        self.H, self.V, self.L = H, V, m.num_layers
        self.cells = [cell_prefix(k, d == 1) for k in range(m.num_layers)
                      for d in range(m.num_directions)]
        self.np_dtype = np.dtype(opts.dtype)
        self.context = opts.context if subject.kind == "ids" else None
        f64, i64 = torch.float64, torch.int64
        z = {}
        for p in self.cells:
            for f in FIELDS:
                z[f"{p}.{f}.sum"] = (H, f64)
                z[f"{p}.{f}.sumsq"] = (H, f64)
                z[f"{p}.{f}.hist"] = (H * opts.bins, i64)
            for g in GATES:
                z[f"{p}.{g}.below"] = (H, i64)
                z[f"{p}.{g}.above"] = (H, i64)
            if V:
                z[f"{p}.dh.sum"] = ((V, H), f64)
        z["tokens"] = ((), i64)
        if V:
            z["symbol.count"] = (V, i64)
        if engine.head_w is not None:
            z |= {"loss.sum": (V, f64), "loss.count": (V, i64), "loss.correct": (V, i64)}
        self.acc = {n: torch.zeros(s, dtype=d, device=self.dev) for n, (s, d) in z.items()}
        self.top = {f"{p}.{f}.{s}": empty_top(H, opts.top_k, self.np_dtype, None)
                    for p in self.cells for f in FIELDS for s in SIGNS} if opts.top_k else {}
        self.offsets2 = (torch.arange(H, device=self.dev) * opts.bins ** 2).to(torch.int32)

    def load(self, arrays: Mapping[str, np.ndarray]) -> None:
        for n in self.acc:
            a = arrays[n]
            self.acc[n] = self.torch.from_numpy(np.array(a.reshape(-1) if n.endswith(".hist")
                                                         else a)).to(self.dev)
        for p in self.top:
            self.top[p] = {n: np.array(v) for n, v in _top_dict(arrays, p).items()
                           if n != "context"}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for n, t in self.acc.items():
            a = t.cpu().numpy()
            out[n] = a.reshape(self.H, self.opts.bins) if n.endswith(".hist") else a
        for p, d in self.top.items():
            out |= {f"{p}.{n}": v for n, v in d.items()}
        return out

    def add(self, layers, ids, rows, doc, off, loss_rows, logits_fn) -> None:
        """One chunk: ``layers`` from ChunkEngine.run; ``rows`` (N,) the counted flat rows, with
        their document ``doc`` and ``offset`` (N,) NumPy; ``ids`` (B·T,) tensor or None;
        ``loss_rows`` the flat rows whose next-symbol loss counts."""
        torch, o, acc = self.torch, self.opts, self.acc
        n = len(rows)
        if n == 0:
            return
        full = n == layers[0]["h"].shape[0]
        sel = None if full else torch.from_numpy(rows).to(self.dev)
        acc["tokens"] += n
        tok = None
        if ids is not None:
            tok = ids if full else ids[sel]
            acc["symbol.count"] += torch.bincount(tok, minlength=self.V)
        for p, rec in zip(self.cells, layers):
            vals = {f: rec[f] if full else rec[f][sel] for f in (*FIELDS, "h_prev")}
            bins = {}
            for f in FIELDS:
                v = vals[f]
                # float64 sums of each chunk's (float32: pairwise float32 sums, 1e-7 relative)
                total = v.sum(0)
                acc[f"{p}.{f}.sum"] += total.double()
                acc[f"{p}.{f}.sumsq"] += (v * v).sum(0).double()
                bins[f] = self._bins(v, f, not bool(torch.isfinite(total).all()))
                if f in GATES:  # bool as uint8: the fast reduction
                    acc[f"{p}.{f}.below"] += (v < o.left).view(torch.uint8).sum(
                        0, dtype=torch.int32)
                    acc[f"{p}.{f}.above"] += (v > o.right).view(torch.uint8).sum(
                        0, dtype=torch.int32)
                for s, sign in SIGNS.items() if self.top else ():
                    self._top(f"{p}.{f}.{s}", v, sign, doc, off)
            for a, b in (("z", "r"), ("n", "h")):  # one count per pair: joint bins, then marginals
                joint = torch.bincount(bins[a].mul_(o.bins).add_(bins[b]).add_(self.offsets2)
                                       .reshape(-1), minlength=self.H * o.bins ** 2)
                joint = joint.reshape(self.H, o.bins, o.bins)
                acc[f"{p}.{a}.hist"] += joint.sum(2).reshape(-1)
                acc[f"{p}.{b}.hist"] += joint.sum(1).reshape(-1)
            if tok is not None:
                dh = vals["h"] - vals["h_prev"]
                acc[f"{p}.dh.sum"] += torch.zeros((self.V, self.H), dtype=dh.dtype,
                                                  device=self.dev).index_add_(0, tok, dh).double()
        if "loss.sum" in acc and len(loss_rows):
            lr = torch.from_numpy(loss_rows).to(self.dev)
            scores = logits_fn(layers[-1]["h_prev"][lr])  # (V, n): reductions over dim 0 are
            target = ids[lr]  # the fast ones
            mine = torch.take(scores, target * scores.shape[1] + torch.arange(
                len(lr), device=self.dev))
            nll = torch.logsumexp(scores, 0).sub_(mine)
            acc["loss.sum"] += torch.zeros(self.V, dtype=nll.dtype, device=self.dev
                                           ).index_add_(0, target, nll).double()
            acc["loss.count"] += torch.bincount(target, minlength=self.V)
            right = target[mine >= scores.amax(0)]  # the top score (an exact tie counts)
            acc["loss.correct"] += torch.bincount(right, minlength=self.V)

    def _bins(self, v, f: str, nan: bool):
        """(N, H) int32 bins: b = floor((v − lo) / (hi − lo) · bins), clamped to the end bins
        (ranges are powers of two wide, so the scaling is one exact multiplication)."""
        bins = self.opts.bins
        lo, hi = RANGES[f]
        x = v.mul(bins / (hi - lo)) if lo == 0 else (v - lo).mul_(bins / (hi - lo))
        if nan:
            x = torch_nan_to_num(self.torch, x)
        return x.clamp_(0, bins - 1).to(self.torch.int32)  # clamped first: trunc = floor

    def _top(self, p: str, v, sign: float, doc: np.ndarray, off: np.ndarray) -> None:
        """Merge this chunk's rows that can enter each unit's k best into the running list.

        Only values at or beyond the running k-th best are looked at (all of them while the
        list is not full: then the chunk's own k-th best bounds them), ties included, and the
        k best are picked by (value, document, offset): any split of the corpus gives the same
        list."""
        torch = self.torch
        cur = self.top[p]
        k = self.opts.top_k
        N, H = v.shape
        thr = cur["value"][:, -1].copy()  # signed k-th best so far (−inf: not full)
        if not np.isfinite(thr).all():
            kk = min(k, N)
            chunk = torch.topk(torch_nan_to_num(torch, v * sign, -math.inf), kk, dim=0)[0][-1]
            thr = np.maximum(thr, chunk.cpu().numpy().astype(np.float64))
        t = torch.from_numpy(sign * thr).to(self.dev, v.dtype)
        full = np.isfinite(cur["value"][:, -1]).all()
        # Blocks of rows whose extreme reaches a unit's threshold: only those are compared
        # (a full comparison and nonzero would cost more than all other statistics).
        B = BLOCK
        nb = N // B
        ext = [] if nb == 0 else [(v[:nb * B].view(nb, B, H).amax(1) if sign > 0
                                   else v[:nb * B].view(nb, B, H).amin(1))]
        if nb * B < N:
            ext.append((v[nb * B:].amax(0) if sign > 0 else v[nb * B:].amin(0))[None])
        ext = torch.cat(ext)
        blk, unit = ((ext >= t) if sign > 0 else (ext <= t)).nonzero().T
        if not len(blk):
            return
        rows = (blk[:, None] * B + torch.arange(B, device=self.dev)).clamp_(max=N - 1)
        v = v.contiguous()
        sub, ts = torch.take(v, rows * H + unit[:, None]), t[unit][:, None]  # (P, B)
        hit = (sub > ts) if sign > 0 else (sub < ts)
        if full:  # a value equal to the k-th enters only at an earlier (document, offset)
            key = torch.from_numpy(doc * 2**32 + off).to(self.dev)
            kth = torch.from_numpy(cur["doc"][:, -1] * 2**32 + cur["offset"][:, -1]).to(
                self.dev)
            hit |= (sub == ts) & (torch.take(key, rows) < kth[unit][:, None])
        else:
            hit |= sub == ts
        pair, j = hit.nonzero().T
        r, u = torch.take(rows, pair * B + j), unit[pair]
        if nb * B < N:  # the clamped tail repeats row N − 1: keep each (row, unit) once
            keep = np.unique(np.stack([r.cpu().numpy(), u.cpu().numpy()]), axis=1)
            r, u = (torch.from_numpy(a).to(self.dev) for a in keep)
        if not len(r):
            return
        val = (torch.take(v, r * H + u) * sign).cpu().numpy().astype(np.float64)
        r_n, u_n = r.cpu().numpy(), u.cpu().numpy()
        order = np.lexsort((off[r_n], doc[r_n], -val, u_n))
        u_s = u_n[order]
        first = np.searchsorted(u_s, u_s)  # where each unit's run starts
        keep = order[np.arange(len(order)) - first < k]
        u_k = u_n[keep]
        slot = np.arange(len(keep)) - np.searchsorted(u_k, u_k)
        units, u_k = np.unique(u_k, return_inverse=True)  # merge only the units with news
        new = empty_top(len(units), k, self.np_dtype, None)
        new["rows"] = np.zeros((len(units), k, H), self.np_dtype)
        new["value"][u_k, slot] = val[keep]
        new["doc"][u_k, slot] = doc[r_n[keep]]
        new["offset"][u_k, slot] = off[r_n[keep]]
        new["rows"][u_k, slot] = v.index_select(0, torch.from_numpy(r_n[keep]).to(self.dev)
                                                ).cpu().numpy()
        merged = merge_top({n: a[units] for n, a in cur.items()}, new, k)
        for n, a in merged.items():
            cur[n][units] = a


def torch_nan_to_num(torch, x, nan: float = 0.0):
    return torch.nan_to_num(x, nan=nan)


# --- scheduling ---------------------------------------------------------------------------------

@dataclass
class Jobs:
    """Contiguous ranges of documents to run: count steps [start, stop) of document ``doc``,
    running from offset ``warm`` ≤ start with h0 = 0."""

    doc: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    warm: np.ndarray

    def __len__(self) -> int:
        return len(self.doc)

    def take(self, idx) -> Jobs:
        return Jobs(self.doc[idx], self.start[idx], self.stop[idx], self.warm[idx])

    @property
    def tokens(self) -> int:
        return int((self.stop - self.start).sum())


def make_jobs(corpus: Corpus, opts: Options) -> Jobs:
    lengths = corpus.doc_stop - corpus.doc_start
    docs = np.arange(corpus.documents)
    if opts.mode == "exact":
        zero = np.zeros_like(lengths)
        return Jobs(docs, zero, lengths.copy(), zero.copy())
    seg = opts.segment or max(math.ceil(int(lengths.sum()) / opts.batch), opts.chunk)
    d, s, e = [], [], []
    for i, n in zip(docs, lengths):
        pieces = max(1, math.ceil(int(n) / seg))
        bounds = [int(n) * j // pieces for j in range(pieces + 1)]
        d += [i] * pieces
        s += bounds[:-1]
        e += bounds[1:]
    s_a = np.array(s, np.int64)
    return Jobs(np.array(d, np.int64), s_a, np.array(e, np.int64),
                np.maximum(s_a - opts.warmup, 0))


def shard_jobs(jobs: Jobs, shards: int) -> list[Jobs]:
    """Consecutive groups of jobs with about equal tokens each (at most ``shards``)."""
    n = (jobs.stop - jobs.warm).astype(float)
    cut = np.searchsorted(np.cumsum(n), np.linspace(0, n.sum(), shards + 1)[1:-1], "right")
    groups = np.split(np.arange(len(jobs)), np.unique(cut))
    return [jobs.take(g) for g in groups if len(g)]


class Slots:
    """B streams: which job each runs (−1: none) and where it stands (offset in its document)."""

    def __init__(self, B: int, L: int, H: int, dtype) -> None:
        self.job = np.full(B, -1, np.int64)
        self.pos = np.zeros(B, np.int64)
        self.h = np.zeros((L, B, H), dtype)
        self.next = 0

    def fill(self, jobs: Jobs) -> None:
        for b in np.flatnonzero(self.job < 0):
            if self.next >= len(jobs):
                break
            self.job[b] = self.next
            self.pos[b] = jobs.warm[self.next]
            self.h[:, b] = 0
            self.next += 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {"slots.job": self.job, "slots.pos": self.pos, "slots.h": self.h,
                "slots.next": np.array(self.next)}

    def load(self, a: Mapping[str, np.ndarray]) -> None:
        self.job, self.pos = np.array(a["slots.job"]), np.array(a["slots.pos"])
        self.h, self.next = np.array(a["slots.h"]), int(a["slots.next"])


# --- progress ------------------------------------------------------------------------------------

class ProgressBar:
    """Tokens done and tokens per second on stderr: one rewritten line on a terminal, a plain
    line every 10% (or minute) otherwise."""

    def __init__(self, total: int, stream=None, label: str = "corpus") -> None:
        self.total, self.stream, self.label = max(total, 1), stream or sys.stderr, label
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.last, self.last_pct, self.done0 = 0.0, -1, None

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.perf_counter()
        if self.done0 is None:
            self.done0 = done  # a resumed job: speed counts this run's tokens only
        pct = int(100 * done / self.total)
        if not final and (now - self.last < (0.25 if self.tty else 60)
                          and (self.tty or pct // 10 == self.last_pct // 10)):
            return
        self.last, self.last_pct = now, pct
        rate = (done - self.done0) / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0
        bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
        line = (f"{self.label} [{bar}] {pct:3d}% {_si(done)}/{_si(self.total)} tokens "
                f"{_si(rate)} tok/s " + (f"{eta:.0f} s left" if not final else
                                         f"{now - self.start:.1f} s"))
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


# --- running -----------------------------------------------------------------------------------

def _meta(subject: Subject, corpus: Corpus, opts: Options) -> dict:
    m = subject.model
    return {"format": FORMAT, "version": VERSION, "model_sha256": model_digest(subject),
            "model": m.describe(), "layers": m.num_layers, "directions": m.num_directions,
            "hidden_size": m.hidden_size, "reset_after": m.reset_after,
            "options": opts.shaping(), "ranges": RANGES, "kind": subject.kind,
            "symbols": subject.symbol_names(), "has_loss": subject.scores_symbols,
            "corpus": [Path(p).name for p in corpus.paths], "documents": corpus.documents,
            "skipped": corpus.skipped, "corpus_fingerprint": corpus.fingerprint}


def run_jobs(subject: Subject, corpus: Corpus, jobs: Jobs, opts: Options,
             state_file: str | os.PathLike | None = None,
             progress: Callable[[int], None] | None = None,
             stop_after: int | None = None) -> CorpusStats | None:
    """Run ``jobs`` of ``corpus`` and return their statistics.

    With ``state_file``, the accumulated statistics, the carried states and each stream's
    position are saved there every ``opts.state_every`` seconds and on KeyboardInterrupt (then
    re-raised), and a run finding a matching file continues from it. ``stop_after`` = n stops
    (saving the state, returning None) after n chunks: a test's interruption.
    """
    import torch

    if opts.threads:
        torch.set_num_threads(opts.threads)
    engine = ChunkEngine(subject, opts.dtype, pick_device(opts.device), opts.recorder)
    acc = Accumulator(subject, opts, engine)
    m = subject.model
    B, T = _stream_shape(m, opts, jobs)
    slots = Slots(B, m.num_layers * m.num_directions, m.hidden_size, np.dtype(opts.dtype))
    meta = _meta(subject, corpus, opts)
    state = _State(state_file, _fingerprint(meta, opts, jobs), acc, slots)
    chunks = 0
    try:
        while True:
            slots.fill(jobs)
            active = np.flatnonzero(slots.job >= 0)
            if not len(active):
                break
            _run_chunk(engine, acc, corpus, jobs, slots, active, T, opts.dtype)
            chunks += 1
            if progress is not None:
                progress(int(acc.acc["tokens"]))
            if stop_after is not None and chunks >= stop_after:
                state.save()
                return None
            state.save_every(opts.state_every)
    except KeyboardInterrupt:
        state.save()
        raise
    return _result(acc, corpus, meta, state.seconds())


def _stream_shape(m: GRUModel, opts: Options, jobs: Jobs) -> tuple[int, int]:
    """(streams, steps per chunk): the options', or for a bidirectional model one whole
    document at a time (its reverse direction reads each document from its end)."""
    if not m.bidirectional:
        return opts.batch, opts.chunk
    if opts.mode != "exact":
        raise InputError("A bidirectional model runs each document whole: use the exact mode.")
    T = int((jobs.stop - jobs.warm).max()) if len(jobs) else 1
    if T > MAX_WHOLE:
        raise InputError(f"A bidirectional model runs each document whole, and one has "
                         f"{T:,} tokens (at most {MAX_WHOLE:,}): split it (--split line).")
    return 1, T


def _fingerprint(meta: dict, opts: Options, jobs: Jobs) -> str:
    job_key = hashlib.sha256(b"".join(a.tobytes() for a in (jobs.doc, jobs.start, jobs.stop,
                                                            jobs.warm))).hexdigest()
    return json.dumps([meta["model_sha256"], meta["corpus_fingerprint"], opts.shaping(),
                       job_key])


class _State:
    """A job's saved state (``<out>.partial.npz``): loaded when it matches, saved on demand."""

    def __init__(self, path: str | os.PathLike | None, fingerprint: str, acc: Accumulator,
                 slots: Slots) -> None:
        self.path, self.fingerprint, self.acc, self.slots = path, fingerprint, acc, slots
        self.before = 0.0  # seconds spent by the runs before this one
        if path is not None and Path(path).exists():
            with np.load(path, allow_pickle=False) as z:
                if str(z["fingerprint"]) != fingerprint:
                    raise InputError(f"{Path(path).name} is the state of another job (model, "
                                     "corpus or options differ); delete it to start over.")
                saved = {k: z[k] for k in z.files}
            acc.load(saved)
            slots.load(saved)
            self.before = float(saved["seconds"])
        self.t0 = self.last = time.perf_counter()

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.t0

    def save(self) -> None:
        if self.path is None:
            return
        tmp = Path(str(self.path) + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, fingerprint=np.array(self.fingerprint),
                     seconds=np.array(self.seconds()), **self.acc.arrays(), **self.slots.arrays())
        os.replace(tmp, self.path)

    def save_every(self, seconds: float) -> None:
        if self.path is not None and time.perf_counter() - self.last > seconds:
            self.save()
            self.last = time.perf_counter()


def _run_chunk(engine: ChunkEngine, acc: Accumulator, corpus: Corpus, jobs: Jobs,
               slots: Slots, active: np.ndarray, T: int, dtype: str) -> None:
    """Up to T steps of every active stream: read, run, accumulate, advance the slots."""
    import torch

    j = slots.job[active]
    pos, stop = slots.pos[active], jobs.stop[j]
    n = np.minimum(stop - pos, T)
    Tc, Ba = int(n.max()), len(active)
    vectors = engine.subject.kind == "vectors"
    tokens = (np.zeros((Ba, Tc, engine.subject.model.input_size), np.dtype(dtype)) if vectors
              else np.zeros((Ba, Tc), np.int64))
    for row in range(Ba):
        g = corpus.doc_start[jobs.doc[j[row]]] + pos[row]
        tokens[row, :n[row]] = corpus.read(int(g), int(g + n[row]))
    t_off = pos[:, None] + np.arange(Tc)[None]  # (Ba, Tc) offsets in the documents
    real = np.arange(Tc)[None] < n[:, None]
    counted = real & (t_off >= jobs.start[j][:, None])
    rows = np.flatnonzero(counted.reshape(-1))
    doc_rows = np.repeat(jobs.doc[j], Tc)[rows]
    off_rows = t_off.reshape(-1)[rows]
    loss_rows = np.flatnonzero((counted & (t_off > jobs.warm[j][:, None])).reshape(-1))
    x = engine.inputs(tokens)
    h0 = torch.from_numpy(slots.h[:, active]).to(engine.device)
    ids = None if vectors else torch.from_numpy(tokens.reshape(-1)).to(engine.device)
    layers, h_T = engine.run(x, h0, ids)
    acc.add(layers, ids, rows, doc_rows, off_rows, loss_rows,
            engine.logits if engine.head_w is not None else None)
    slots.h[:, active] = h_T.cpu().numpy()
    slots.pos[active] = pos + n
    slots.job[active[pos + n >= stop]] = -1


def _result(acc: Accumulator, corpus: Corpus, meta: dict, seconds: float) -> CorpusStats:
    arrays = acc.arrays()
    if acc.context is not None:
        _fill_contexts(arrays, corpus, acc.context)
    meta["seconds"] = seconds
    used = {int(d) for name, a in arrays.items() if name.endswith(".doc") for d in a.ravel()
            if d >= 0}
    meta["doc_names"] = {str(d): corpus.name(d) for d in sorted(used)}
    return CorpusStats(meta, arrays)


def _fill_contexts(arrays: dict[str, np.ndarray], corpus: Corpus, C: int) -> None:
    """The ids around each indexed position (−1 outside its document), read from the corpus."""
    cache: dict[tuple[int, int], np.ndarray] = {}
    for name in [n for n in arrays if n.endswith(".doc")]:
        p = name[: -len(".doc")]
        doc, off = arrays[name], arrays[f"{p}.offset"]
        ctx = np.full(doc.shape + (2 * C + 1,), -1, np.int32)
        for idx in zip(*np.nonzero(doc >= 0)):
            key = (int(doc[idx]), int(off[idx]))
            if key not in cache:
                d, o = key
                lo = max(corpus.doc_start[d] + o - C, corpus.doc_start[d])
                hi = min(corpus.doc_start[d] + o + C + 1, corpus.doc_stop[d])
                row = np.full(2 * C + 1, -1, np.int32)
                got = corpus.read(int(lo), int(hi))
                first = int(lo - (corpus.doc_start[d] + o - C))
                row[first:first + len(got)] = got
                cache[key] = row
            ctx[idx] = cache[key]
        arrays[f"{p}.context"] = ctx


@dataclass
class CorpusJob:
    """Everything a corpus job needs, opened once: used by ``corpus_stats`` and by the Dask
    engine's workers (picklable: the corpus is reopened where it runs)."""

    subject: Subject
    paths: list[str]
    opts: Options
    work_dir: str | None = None
    _corpus: Corpus | None = field(default=None, repr=False)

    def corpus(self) -> Corpus:
        if self._corpus is None:
            work = self.work_dir or tempfile.mkdtemp(prefix="gruviz-corpus-")
            s = self.subject
            self._corpus = open_corpus(self.paths, s.kind, work, s.vocabulary, s.symbols,
                                       s.model.input_size, self.opts.split)
        return self._corpus

    def __getstate__(self):
        return {**self.__dict__, "_corpus": None, "work_dir": None}


def _run_engine(engine: str, job: CorpusJob, c: Corpus, jobs: Jobs, out: Path | None,
                work: Path | None, scheduler: str | None, shards: int | None, bar,
                resume: bool) -> CorpusStats:
    """The statistics from the local engine (resuming from ``<out>.partial.npz``) or Dask."""
    t0 = time.perf_counter()
    if engine == "dask":
        from gru_viz.analysis.corpus_cluster import run_on_dask

        if work is not None and not resume and (work / "shards").exists():
            for f in (work / "shards").iterdir():
                f.unlink()
        stats = run_on_dask(job, jobs, scheduler, shards, work, bar)
        stats.meta["seconds"] = time.perf_counter() - t0  # wall time, not the workers' sum
        return stats
    if engine != "local":
        raise InputError(f"engine must be local or dask; got {engine!r}.")
    state = Path(str(out) + ".partial.npz") if out is not None else None
    if state is not None and not resume and state.exists():
        state.unlink()
    stats = run_jobs(job.subject, c, jobs, job.opts, state, bar)
    if state is not None and state.exists():
        state.unlink()
    return stats


def corpus_stats(model, corpus, out: str | os.PathLike | None = None, *,
                 options: Options | None = None, engine: str = "local",
                 scheduler: str | None = None, shards: int | None = None,
                 progress: bool | Callable[[int], None] = True, resume: bool = True,
                 **kw) -> CorpusStats:
    """Corpus statistics of ``model`` (a Checkpoint, GRUModel or Subject, or a checkpoint path)
    over ``corpus`` (a file, a folder, or a list of them); saved to ``out`` when given.

    Keyword arguments are ``Options`` fields (batch=64, mode="exact", ...). ``engine="dask"``
    runs shards on the Dask cluster at ``scheduler`` (None: a local one); see
    ``gru_viz.analysis.corpus_cluster``.
    """
    from gru_viz.io.checkpoint import load_checkpoint

    if isinstance(model, (str, os.PathLike)):
        model = load_checkpoint(model)
    opts = replace(options or Options(), **kw)
    subject = subject_of(model)
    out = None if out is None else Path(out)
    work = Path(str(out) + ".work") if out is not None else None
    job = CorpusJob(subject, [str(p) for p in (corpus if isinstance(corpus, (list, tuple))
                                               else [corpus])], opts,
                    str(work) if work is not None else None)
    c = job.corpus()
    jobs = make_jobs(c, opts)
    bar = ProgressBar(jobs.tokens) if progress is True else (progress or None)
    stats = _run_engine(engine, job, c, jobs, out, work, scheduler, shards, bar, resume)
    if isinstance(bar, ProgressBar):
        bar(stats.tokens, final=True)
    stats.meta["tokens_per_second"] = stats.tokens / max(stats.meta["seconds"], 1e-9)
    if out is not None:
        stats.save(out)
        if work is not None and work.exists():
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    return stats
