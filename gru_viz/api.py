"""One call from a checkpoint to every gate: ``trace_checkpoint("model.pt", text="(()")``.

Usable from Jupyter::

    from gru_viz.api import trace_checkpoint
    res = trace_checkpoint("assets/brackets.pt", text="([()])")
    res.trace.layers[0][0].z   # (T, H) update gate of layer 0, forward
    res.probs[-1]              # next-symbol probabilities after the last character
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from gru_viz.analysis.units import softmax
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.trace import Trace
from gru_viz.io.checkpoint import Checkpoint, load_checkpoint
from gru_viz.io.inputs import one_hot, parse_rows


@dataclass(frozen=True, eq=False)
class Result:
    """A checkpoint run on one sequence.

    tokens       the symbols read (text input), else None
    head_output  (T, V') the linear head applied to the GRU's output at each step, or None
    probs        (T, V) softmax of head_output when the input was symbols and the head
                 gives one score per symbol, else None
    """

    checkpoint: Checkpoint
    trace: Trace
    tokens: tuple[str, ...] | None
    head_output: np.ndarray | None
    probs: np.ndarray | None

    def next_symbols(self, k: int = 3, t: int = -1) -> list[tuple[str, float]]:
        """The k likeliest next symbols after step t, with their probabilities."""
        if self.probs is None:
            return []
        vocab = self.checkpoint.vocabulary
        order = np.argsort(-self.probs[t])[:k]
        return [(vocab.symbols[i] if vocab else str(i), float(self.probs[t, i])) for i in order]


def _symbol_count(ckpt: Checkpoint) -> int:
    """How many symbols the model reads: embedding rows, or one-hot input width."""
    return ckpt.embedding.shape[0] if ckpt.embedding is not None else ckpt.model.input_size


def _symbol_inputs(ckpt: Checkpoint, ids: np.ndarray) -> np.ndarray:
    """ids (T,) -> what the GRU reads: embedding rows, or one-hot rows of its input size."""
    if ckpt.embedding is not None:
        return ckpt.embedding[ids]
    return one_hot(ids, ckpt.model.input_size, ckpt.model.dtype)


def encode(ckpt: Checkpoint, text: str | None = None, rows: str | np.ndarray | None = None,
           ids: np.ndarray | list[int] | None = None) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Exactly one input -> (x (T, I), tokens or None)."""
    if sum(v is not None for v in (text, rows, ids)) != 1:
        raise InputError("Give exactly one input: text, rows (numbers) or ids.")
    I = ckpt.model.input_size
    if rows is not None:
        x = parse_rows(rows, I) if isinstance(rows, str) else np.asarray(rows, float)
        return x, None
    symbols = _symbol_count(ckpt)
    if text is not None:
        if ckpt.vocabulary is None:
            raise InputError("This checkpoint has no vocabulary, so text cannot be encoded; "
                             f"give token ids (0..{symbols - 1}) or numeric rows instead.")
        ids = ckpt.vocabulary.encode(text)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= symbols):
        raise InputError(f"Token ids go from 0 to {symbols - 1}; got {ids.min()}..{ids.max()}.")
    tokens = ckpt.vocabulary.decode(ids) if ckpt.vocabulary else [str(i) for i in ids]
    return _symbol_inputs(ckpt, ids), tuple(tokens)


def run_checkpoint(ckpt: Checkpoint, text: str | None = None,
                   rows: str | np.ndarray | None = None, ids: np.ndarray | list[int] | None = None,
                   h0: np.ndarray | None = None, dtype: np.dtype | type | None = None) -> Result:
    """Run a loaded checkpoint on text (through its vocabulary), numeric rows or token ids."""
    x, tokens = encode(ckpt, text, rows, ids)
    trace = run(ckpt.model, x, h0, dtype=dtype)
    head = probs = None
    if ckpt.head_weight is not None:
        bias = 0 if ckpt.head_bias is None else ckpt.head_bias
        head = trace.output @ ckpt.head_weight.T + bias
        head.setflags(write=False)
        if tokens is not None and head.shape[-1] == _symbol_count(ckpt):
            probs = softmax(head)
            probs.setflags(write=False)
    return Result(ckpt, trace, tokens, head, probs)


def trace_checkpoint(source: str | os.PathLike | bytes | Checkpoint, text: str | None = None,
                     rows: str | np.ndarray | None = None,
                     ids: np.ndarray | list[int] | None = None, *, gru: str | None = None,
                     h0: np.ndarray | None = None,
                     dtype: np.dtype | type | None = None) -> Result:
    """Load (unless given a Checkpoint) and run in one call; see ``run_checkpoint``."""
    ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source, gru=gru)
    return run_checkpoint(ckpt, text, rows, ids, h0, dtype)
