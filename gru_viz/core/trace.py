"""What a run records: frozen, read-only arrays of every gate at every timestep.

Shapes: ``(B, T, H)`` for a batch, ``(T, H)`` for a single sequence (the batch axis is dropped
exactly when the input had none). Time index t is the position in the input for both
directions; a reverse direction reads the sequence from t = T-1 down to 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gru_viz.core.errors import InputError
from gru_viz.core.summary import Summarised, Summary, non_finite, reset_text, shape_text

if TYPE_CHECKING:  # the figures import plotly: loaded only when a figure is asked for
    from gru_viz.core.notation import Notation
    from gru_viz.figures.notebook import ColouredText, Figure, Figures

# Per-step fields recorded for each layer and direction, in display order.
STEP_FIELDS = ("a_r", "a_z", "a_n", "r", "z", "hn", "n", "h")


def _figures():
    """``gru_viz.figures.notebook``, imported on first use: the core itself needs no Plotly."""
    try:
        from gru_viz.figures import notebook
    except ImportError as exc:
        raise ImportError(f"gru-viz's figures need Plotly ({exc}); install the requirements: "
                          "pip install -r requirements.txt") from exc
    return notebook


def _readonly(a):  # NumPy arrays become read-only; torch tensors (autograd engine) pass through
    if isinstance(a, np.ndarray):
        a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False, repr=False)
class LayerTrace(Summarised):
    """One layer and direction.

    x   (B?, T, I)  this layer's input (layer k>0 reads [h_fwd, h_bwd] of layer k-1)
    h0  (B?, H)     initial state
    a_r, a_z, a_n   gate pre-activations, r = σ(a_r), z = σ(a_z), n = tanh(a_n)
    hn  (B?, T, H)  the recurrent term inside the candidate, reset applied:
                    r ⊙ (W_hn h + b_hn) (reset after) or W_hn (r ⊙ h) + b_hn (reset before)
    h   (B?, T, H)  new state: h = (1 − z) ⊙ n + z ⊙ h_prev
    """

    layer: int
    reverse: bool
    reset_after: bool
    x: np.ndarray
    h0: np.ndarray
    a_r: np.ndarray
    a_z: np.ndarray
    a_n: np.ndarray
    r: np.ndarray
    z: np.ndarray
    hn: np.ndarray
    n: np.ndarray
    h: np.ndarray

    def __post_init__(self) -> None:
        for name in ("x", "h0") + STEP_FIELDS:
            _readonly(getattr(self, name))

    @property
    def steps(self) -> int:
        return self.h.shape[-2]

    @property
    def hidden_size(self) -> int:
        return self.h.shape[-1]

    @property
    def h_prev(self) -> np.ndarray:
        """The state each step started from (B?, T, H), in this direction's reading order."""
        h, h0 = self.h, self.h0[..., None, :]
        if isinstance(h, np.ndarray):
            parts = [h[..., 1:, :], h0] if self.reverse else [h0, h[..., :-1, :]]
            return _readonly(np.concatenate(parts, axis=-2))
        import torch

        parts = [h[..., 1:, :], h0] if self.reverse else [h0, h[..., :-1, :]]
        return torch.cat(parts, dim=-2)

    @property
    def name(self) -> str:
        return f"layer {self.layer}" + (" reverse" if self.reverse else "")

    def summary(self) -> Summary:
        """Sizes, reset placement and warnings (never the arrays)."""
        batch = self.h.shape[0] if self.h.ndim == 3 else None
        rows = [("steps", self.steps), ("hidden size", self.hidden_size),
                ("input size", self.x.shape[-1])]
        rows += [("batch", f"{batch} sequences")] if batch is not None else []
        rows += [("reset", reset_text(self.reset_after)),
                 ("fields", " ".join(STEP_FIELDS) + ", each " + shape_text(self.h)
                  + "; x " + shape_text(self.x) + ", h0 " + shape_text(self.h0)
                  + " (PyTorch's names: z is the share of the old state kept)")]
        warn = (["NaN or inf in the recorded values"]
                if non_finite([getattr(self, f) for f in STEP_FIELDS]) else [])
        return Summary(f"LayerTrace: {self.name}", rows, warn)

    def heatmaps(self, notation: str | Notation = "pytorch",
                 tokens: Sequence[object] | None = None, *, sequence: int | None = None,
                 window: tuple[int, int] | None = None, max_cols: int | None = 1000,
                 order: Sequence[int] | str | None = None) -> Figure:
        """The app's four gate heatmaps of this layer and direction: update gate, reset gate,
        candidate and state, units × time, gates on [0, 1] and values on [−1, 1].

        notation  "pytorch" (z = share of the old state kept, r, n, h) or "course"
                  (Γu = 1 − z, Γr, c̃, c), or a ``gru_viz.core.notation.Notation``
        tokens    one label per step for the time axis (default: the input's numbers)
        sequence  which sequence of a batch (default 0; the title says which)
        window    (start, stop) steps to draw; max_cols strides longer runs
        order     unit rows in this order: a list of units, or "mean", "variance", "cluster"
                  (of the state's values, as the Explorer orders them)

        Returns a Plotly figure that shows itself in a notebook, interactively and as a PNG.
        """
        return _figures().heatmaps(self, notation, tokens, sequence=sequence, window=window,
                                   max_cols=max_cols, order=order)

    def lines(self, units: Iterable[int] | int, notation: str | Notation = "pytorch",
              tokens: Sequence[object] | None = None, *, sequence: int | None = None,
              step: int | None = None) -> Figure:
        """The app's unit lines: update gate, reset gate, candidate and state of ``units``
        (e.g. ``[3, 7]``) over time, one colour a unit, fixed y ranges; ``step`` marks a
        timestep. Arguments as for ``heatmaps``."""
        return _figures().lines(self, units, notation, tokens, sequence=sequence, step=step)

    def saturation(self, notation: str | Notation = "pytorch", *, sequence: int | None = None,
                   left: float = 0.1, right: float = 0.9) -> Figure:
        """The app's saturation scatter (Karpathy et al. 2015): for each unit's update and
        reset gate, the share of steps below ``left`` (nearly shut) against the share above
        ``right`` (nearly open)."""
        return _figures().saturation([self], notation, sequence=sequence, left=left,
                                     right=right)

    def text(self, tokens: Sequence[object], unit: int, field: str = "h",
             notation: str | Notation = "pytorch", *, sequence: int | None = None,
             window: tuple[int, int] | None = None) -> ColouredText:
        """The input ``tokens`` coloured by ``field`` ("z", "r", "n" or "h") of ``unit`` at
        each step, on the heatmaps' scale (Karpathy et al. 2015). A string (the text) that a
        notebook shows as coloured HTML, the value of each token on hover; at most 2000 tokens
        at once (``window`` = (start, stop) chooses them)."""
        return _figures().text(self, tokens, unit, field, notation, sequence=sequence,
                               window=window)


@dataclass(frozen=True, eq=False, repr=False)
class Trace(Summarised):
    """A whole run: ``layers[k][d]`` plus what ``torch.nn.GRU`` returns.

    output (B?, T, D·H): last layer's states, forward then reverse (torch's ``output``)
    h_n    (L·D, B?, H): final state of each layer and direction (torch's ``h_n``)
    """

    layers: tuple[tuple[LayerTrace, ...], ...]
    output: np.ndarray
    h_n: np.ndarray

    def __post_init__(self) -> None:
        _readonly(self.output)
        _readonly(self.h_n)

    @property
    def steps(self) -> int:
        return self.output.shape[-2]

    def cells(self) -> list[LayerTrace]:
        """Every layer and direction in torch's order (l0, l0_reverse, l1, ...)."""
        return [c for layer in self.layers for c in layer]

    def cell(self, layer: int = 0, direction: int = 0) -> LayerTrace:
        """``layers[layer][direction]`` (direction 0 forward, 1 reverse), with a clear error."""
        L, D = len(self.layers), len(self.layers[0])
        if not (-L <= layer < L and -D <= direction < D):
            raise InputError(f"Layer {layer}, direction {direction}: this run has {L} layer(s) "
                             f"(0..{L - 1}) and {D} direction(s) (0..{D - 1}).")
        return self.layers[layer][direction]

    def summary(self) -> Summary:
        """Sizes, layers, directions, reset placement and warnings (never the arrays)."""
        first = self.layers[0][0]
        D = len(self.layers[0])
        rows = [("layers", len(self.layers)),
                ("directions", "2 (forward, reverse)" if D == 2 else "1 (forward)"),
                ("steps", self.steps), ("hidden size", first.hidden_size),
                ("input size", first.x.shape[-1])]
        if self.output.ndim == 3:
            rows.append(("batch", f"{self.output.shape[0]} sequences"))
        rows += [("reset", reset_text(first.reset_after)),
                 ("output", shape_text(self.output)), ("h_n", shape_text(self.h_n)),
                 ("cells", "trace.cell(layer, direction): " + ", ".join(c.name for c in
                                                                       self.cells())),
                 ("figures", "heatmaps(), lines(units), saturation(), text(tokens, unit); "
                             "notation='pytorch' or 'course'")]
        warn = (["NaN or inf in the recorded values"]
                if non_finite([getattr(c, f) for c in self.cells() for f in STEP_FIELDS])
                else [])
        return Summary("Trace of a GRU run", rows, warn)

    def heatmaps(self, layer: int | str = 0, direction: int | str = 0,
                 notation: str | Notation = "pytorch", tokens: Sequence[object] | None = None,
                 *, sequence: int | None = None, window: tuple[int, int] | None = None,
                 max_cols: int | None = 1000, order: Sequence[int] | str | None = None
                 ) -> Figure | Figures:
        """The app's four gate heatmaps of one layer and direction; ``layer="all"`` and/or
        ``direction="all"`` give one figure per cell, shown one after another. Other
        arguments as for ``LayerTrace.heatmaps``."""
        cells = self._chosen(layer, direction)
        figs = [c.heatmaps(notation, tokens, sequence=sequence, window=window,
                           max_cols=max_cols, order=order) for c in cells]
        return figs[0] if layer != "all" and direction != "all" else _figures().Figures(figs)

    def lines(self, units: Iterable[int] | int, layer: int = 0, direction: int = 0,
              notation: str | Notation = "pytorch", tokens: Sequence[object] | None = None,
              *, sequence: int | None = None, step: int | None = None) -> Figure:
        """The app's unit lines of one layer and direction (see ``LayerTrace.lines``)."""
        return self.cell(layer, direction).lines(units, notation, tokens, sequence=sequence,
                                                 step=step)

    def saturation(self, notation: str | Notation = "pytorch", *, sequence: int | None = None,
                   left: float = 0.1, right: float = 0.9) -> Figure:
        """The app's saturation scatter of every layer (one panel each) and direction."""
        return _figures().saturation(self.cells(), notation, sequence=sequence, left=left,
                                     right=right)

    def text(self, tokens: Sequence[object], unit: int, field: str = "h", layer: int = 0,
             direction: int = 0, notation: str | Notation = "pytorch", *,
             sequence: int | None = None, window: tuple[int, int] | None = None
             ) -> ColouredText:
        """``tokens`` coloured by one unit of one layer and direction (see
        ``LayerTrace.text``)."""
        return self.cell(layer, direction).text(tokens, unit, field, notation,
                                                sequence=sequence, window=window)

    def _chosen(self, layer: int | str, direction: int | str) -> list[LayerTrace]:
        layers = range(len(self.layers)) if layer == "all" else [layer]
        dirs = range(len(self.layers[0])) if direction == "all" else [direction]
        return [self.cell(k, d) for k in layers for d in dirs]  # type: ignore[arg-type]
