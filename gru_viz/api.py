"""One call from a checkpoint to every gate: ``trace_checkpoint("model.pt", text="(()")``.

Usable from Jupyter::

    import gru_viz
    res = gru_viz.trace_checkpoint("assets/brackets.pt", text="([()])")
    res.heatmaps()             # the app's four gate heatmaps (shows itself in a notebook)
    res.text(unit=15)          # the input coloured by unit 15's state
    res.trace.layers[0][0].z   # (T, H) update gate of layer 0, forward
    res.probs[-1]              # next-symbol probabilities after the last character
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gru_viz.analysis.units import linear, softmax
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.limits import Limits
from gru_viz.core.summary import Summarised, Summary
from gru_viz.core.trace import Trace
from gru_viz.io.checkpoint import Checkpoint, load_checkpoint
from gru_viz.io.inputs import parse_rows, symbol_inputs

if TYPE_CHECKING:  # the figures import plotly: loaded only when a figure is asked for
    from gru_viz.core.notation import Notation
    from gru_viz.figures.notebook import ColouredText, Figure, Figures


@dataclass(frozen=True, eq=False, repr=False)
class Result(Summarised):
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

    def summary(self) -> Summary:
        """What was run on what: the model, the input, the head (never the arrays)."""
        ck, tr = self.checkpoint, self.trace
        first = tr.layers[0][0]
        rows = [("model", ck.model.describe()), ("file", ck.description.get("file", "")),
                ("steps", tr.steps)]
        if self.tokens is not None:
            shown = "".join(self.tokens) if ck.vocabulary and all(
                len(s) == 1 for s in self.tokens) else " ".join(self.tokens)
            rows.append(("input", repr(shown[:60] + ("…" if len(shown) > 60 else ""))))
        else:
            rows.append(("input", f"{first.x.shape[-1]} number(s) a step"))
        rows.append(("head", "none" if self.head_output is None else
                     f"{self.head_output.shape[-1]} outputs a step"
                     + (", next-symbol probabilities" if self.probs is not None else "")))
        rows.append(("figures", "heatmaps(), lines(units), saturation(), text(unit)"
                     + (", predictions()" if self.probs is not None else "")
                     + "; notation='pytorch' or 'course'"))
        return Summary("Result of a checkpoint run", rows, ck.warnings)

    def _labels(self) -> list[str] | None:
        return None if self.tokens is None else list(self.tokens)

    def heatmaps(self, layer: int | str = 0, direction: int | str = 0,
                 notation: str | Notation = "pytorch", *, window: tuple[int, int] | None = None,
                 max_cols: int | None = 1000, order: Sequence[int] | str | None = None
                 ) -> Figure | Figures:
        """The app's four gate heatmaps with the input's symbols on the time axis;
        ``layer="all"``/``direction="all"`` for every cell. See ``LayerTrace.heatmaps``."""
        return self.trace.heatmaps(layer, direction, notation, self._labels(), window=window,
                                   max_cols=max_cols, order=order)

    def lines(self, units: Iterable[int] | int, layer: int = 0, direction: int = 0,
              notation: str | Notation = "pytorch", *, step: int | None = None) -> Figure:
        """The app's unit lines of ``units`` (e.g. ``[3, 7]``); see ``LayerTrace.lines``."""
        return self.trace.lines(units, layer, direction, notation, self._labels(), step=step)

    def saturation(self, notation: str | Notation = "pytorch", *, left: float = 0.1,
                   right: float = 0.9) -> Figure:
        """The app's saturation scatter of every layer and direction."""
        return self.trace.saturation(notation, left=left, right=right)

    def text(self, unit: int, field: str = "h", layer: int = 0, direction: int = 0,
             notation: str | Notation = "pytorch", *,
             window: tuple[int, int] | None = None) -> ColouredText:
        """The input coloured by ``field`` ("z", "r", "n", "h") of ``unit`` at each step
        (Karpathy et al. 2015): shows as coloured HTML in a notebook, is the plain text
        elsewhere. Needs a symbol input (text or ids)."""
        if self.tokens is None:
            raise InputError("This run read numeric rows, not symbols: there is no text to "
                             "colour. Use heatmaps() or lines() instead.")
        return self.trace.text(list(self.tokens), unit, field, layer, direction, notation,
                               window=window)

    def predictions(self) -> Figure:
        """The app's next-symbol probabilities over time (a head with one output a symbol)."""
        if self.probs is None:
            raise InputError("No next-symbol probabilities: the checkpoint has no head with "
                             "one output per symbol, or the input was numbers.")
        vocab = self.checkpoint.vocabulary
        symbols = vocab.symbols if vocab else [str(i) for i in range(self.probs.shape[-1])]
        from gru_viz.core.trace import _figures

        return _figures().predictions(self.probs, symbols, self.tokens)


def symbol_count(ckpt: Checkpoint) -> int:
    """How many symbols the model reads: embedding rows, or one-hot input width."""
    return ckpt.embedding.shape[0] if ckpt.embedding is not None else ckpt.model.input_size


def checkpoint_input(ckpt: Checkpoint, text: str | None = None,
                     rows: str | np.ndarray | None = None,
                     ids: np.ndarray | list[int] | None = None
                     ) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """Exactly one input -> (x (T, I), tokens or None)."""
    if sum(v is not None for v in (text, rows, ids)) != 1:
        raise InputError("Give exactly one input: text, rows (numbers) or ids.")
    I = ckpt.model.input_size
    if rows is not None:
        x = parse_rows(rows, I) if isinstance(rows, str) else np.asarray(rows, float)
        return x, None
    symbols = symbol_count(ckpt)
    if text is not None:
        if ckpt.vocabulary is None:
            raise InputError("This checkpoint has no vocabulary, so text cannot be encoded; "
                             f"give token ids (0..{symbols - 1}) or numeric rows instead.")
        ids = ckpt.vocabulary.encode(text)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= symbols):
        raise InputError(f"Token ids go from 0 to {symbols - 1}; got {ids.min()}..{ids.max()}.")
    tokens = ckpt.vocabulary.decode(ids) if ckpt.vocabulary else [str(i) for i in ids]
    return symbol_inputs(ids, ckpt.model.input_size, ckpt.embedding, ckpt.model.dtype), \
        tuple(tokens)


def run_checkpoint(ckpt: Checkpoint, text: str | None = None,
                   rows: str | np.ndarray | None = None, ids: np.ndarray | list[int] | None = None,
                   h0: np.ndarray | None = None, dtype: np.dtype | type | None = None, *,
                   limits: Limits | None = None) -> Result:
    """Run a loaded checkpoint on text (through its vocabulary), numeric rows or token ids;
    ``limits``: refuse a run over them (``gru_viz.core.limits``; the command line passes the
    server's)."""
    x, tokens = checkpoint_input(ckpt, text, rows, ids)
    trace = run(ckpt.model, x, h0, dtype=dtype, limits=limits)
    return Result(ckpt, trace, tokens, *readout(ckpt, trace.output, tokens is not None))


def readout(ckpt: Checkpoint, output: np.ndarray, symbolic: bool
            ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The head's outputs (T, V') on the GRU's output, or None without a head; and their
    softmax when the input was symbols and the head gives one score per symbol, else None.
    Both read-only."""
    if ckpt.head_weight is None:
        return None, None
    head, probs = linear(output, ckpt.head_weight, ckpt.head_bias), None
    head.setflags(write=False)
    if symbolic and head.shape[-1] == symbol_count(ckpt):
        probs = softmax(head)
        probs.setflags(write=False)
    return head, probs


def trace_checkpoint(source: str | os.PathLike | bytes | Checkpoint, text: str | None = None,
                     rows: str | np.ndarray | None = None,
                     ids: np.ndarray | list[int] | None = None, *, gru: str | None = None,
                     h0: np.ndarray | None = None,
                     dtype: np.dtype | type | None = None,
                     limits: Limits | None = None) -> Result:
    """Load (unless given a Checkpoint) and run in one call; see ``run_checkpoint``."""
    ckpt = source if isinstance(source, Checkpoint) else load_checkpoint(source, gru=gru)
    return run_checkpoint(ckpt, text, rows, ids, h0, dtype, limits=limits)


def example(name: str = "brackets") -> Path:
    """The path of a shipped example model, e.g. ``example("brackets")``: works from any
    folder, in a checkout or an installed package (see assets/README.md for what each is)."""
    from gru_viz.io.shipped import ASSETS

    path = ASSETS / (name if name.endswith(".pt") else f"{name}.pt")
    if not path.is_file():
        names = sorted(p.stem for p in ASSETS.glob("*.pt"))
        raise InputError(f"No example {name!r}; the shipped ones are {', '.join(names)}.")
    return path
