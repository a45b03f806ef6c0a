"""The app's own views, as figures and text that display themselves in a notebook.

What ``trace.heatmaps()``, ``cell.lines()``, ``res.text()`` and friends return. The figures are
the app's (``figures.traces``, ``figures.explorer``), wrapped in a ``Figure`` that shows them in
two ways at once. Its display bundle holds

- ``application/vnd.plotly.v1+json``: the interactive figure. JupyterLab, Notebook 7 and VS Code
  render it (Plotly's renderer ranks above HTML and images); where its renderer finds a PNG
  beside it, it shows that first and swaps in the live chart when the pointer enters.
- ``image/png``: the same figure drawn locally by kaleido (the local Chromium, MathJax off,
  nothing fetched). nbconvert's HTML export does not know Plotly's mimetype and takes the image
  (its priority: widgets, JavaScript, HTML, Markdown, SVG, LaTeX, PNG, ...), as do code hosts
  that run no JavaScript. No ``text/html`` is sent: nbconvert would prefer it to the image,
  and Plotly's HTML needs plotly.js from a CDN or 4.7 MB inlined per figure.
- ``text/plain``: one line naming the figure (a terminal, or a PNG that could not be drawn).

Set ``GRUVIZ_NOTEBOOK_PNG=0`` to send no image (faster; the notebook then shows figures only
where Plotly's JavaScript runs).
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import dataclasses
import json
import os
import threading
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from gru_viz.analysis import units as an
from gru_viz.core.errors import InputError
from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.trace import STEP_FIELDS, LayerTrace
from gru_viz.core.untrusted import html_text
from gru_viz.figures import explorer as ef
from gru_viz.figures.safe import escaped
from gru_viz.figures.textcolor import coloured_text, display_token
from gru_viz.figures.traces import heatmap_spec, lines_spec

PLOTLY_MIME = "application/vnd.plotly.v1+json"
PNG_WIDTH = 1000  # pixels: about a notebook's width
PNG_TIMEOUT = 60  # seconds for one image (the first one also starts Chromium)
MAX_COLS = 1000  # heatmap columns drawn by default; longer runs are strided (say window=)
TEXT_STEPS = 2000  # most tokens coloured at once (the Explorer's limit)
NotationLike = str | Notation


# --- arguments -------------------------------------------------------------------------------

def notation_of(notation: NotationLike) -> Notation:
    """``"course"``, ``"pytorch"`` or a ``Notation`` (``gru_viz.core.notation``)."""
    if isinstance(notation, Notation):
        return notation
    nt = NOTATIONS.get(str(notation).lower())
    if nt is None:
        raise InputError(f"Notation {notation!r}: use 'course' (Γu = 1 − z, Γr, c̃, c) or "
                         "'pytorch' (z, r, n, h).")
    return nt


def one_sequence(cell: LayerTrace, sequence: int | None = None) -> tuple[LayerTrace, str]:
    """The cell for one sequence of a batch (NumPy arrays), and a note saying which one."""
    def numpy(a):
        return a if isinstance(a, np.ndarray) else a.detach().cpu().numpy()  # torch engine

    batched = cell.h.ndim == 3
    if not batched:
        if sequence not in (None, 0):
            raise InputError("This run has one sequence; leave out sequence=.")
        if all(isinstance(getattr(cell, f), np.ndarray) for f in ("x", "h0") + STEP_FIELDS):
            return cell, ""
        return dataclasses.replace(cell, **{f: numpy(getattr(cell, f))
                                            for f in ("x", "h0") + STEP_FIELDS}), ""
    B = cell.h.shape[0]
    b = 0 if sequence is None else int(sequence)
    if not -B <= b < B:
        raise InputError(f"sequence={b}: the batch holds {B} sequences (0..{B - 1}).")
    return (dataclasses.replace(cell, **{f: numpy(getattr(cell, f))[b]
                                         for f in ("x", "h0") + STEP_FIELDS}),
            f", sequence {b % B} of {B}")


def step_tokens(tokens: Sequence[object] | None, steps: int) -> list[str] | None:
    """Tick and hover labels from tokens, made visible (␣ ↵ ⇥); ``Figure`` escapes them."""
    if tokens is None:
        return None
    tokens = [str(t) for t in tokens]
    if len(tokens) != steps:
        raise InputError(f"{len(tokens)} tokens for {steps} steps: give one token per step.")
    return [display_token(t) for t in tokens]


def _units(units: Iterable[int] | int, H: int) -> list[int]:
    units = [int(units)] if np.ndim(units) == 0 else [int(u) for u in units]
    bad = [u for u in units if not 0 <= u < H]
    if not units or bad:
        raise InputError(f"Units {bad or '(none)'}: choose among 0..{H - 1}.")
    return units


def _field(field: str) -> str:
    if field not in an.RANGES:
        raise InputError(f"Field {field!r}: one of 'z' (update gate), 'r' (reset gate), "
                         "'n' (candidate), 'h' (state).")
    return field


# --- figures that display themselves ----------------------------------------------------------

class _Images:
    """One Chromium, kept open by a background event loop and closed at exit: the first PNG
    costs a start of Chromium (seconds), each next one a fraction of a second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop = None
        self.kaleido = None
        self.failed: str | None = None

    def _start(self) -> None:
        import asyncio

        import kaleido

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True,
                         name="gru-viz images").start()

        async def open_():
            k = kaleido.Kaleido(mathjax=False, timeout=PNG_TIMEOUT)
            await k.open()
            return k

        self.kaleido = self._call(open_())
        atexit.register(self.close)

    def _call(self, coroutine):
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(PNG_TIMEOUT)

    def png(self, fig: dict, width: int, height: int, scale: float) -> bytes | None:
        if os.environ.get("GRUVIZ_NOTEBOOK_PNG", "1") == "0" or self.failed:
            return None
        with self.lock:
            try:
                if self.kaleido is None:
                    self._start()
                return self._call(self.kaleido.calc_fig(
                    fig, opts={"format": "png", "width": width, "height": height,
                               "scale": scale}))
            except Exception as exc:  # no kaleido, no Chromium, a timeout: no image, say once
                self.failed = f"{type(exc).__name__}: {str(exc)[:200]}"
                warnings.warn("gru-viz: no static images in this session (kaleido could not "
                              f"draw one: {self.failed}). Figures show only where Plotly's "
                              "JavaScript runs.", RuntimeWarning, stacklevel=3)
                return None

    def close(self) -> None:
        with self.lock:
            if self.kaleido is not None:
                with contextlib.suppress(Exception):  # exiting anyway
                    self._call(self.kaleido.close())
                self.kaleido = None
            if self.loop is not None:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.loop = None


IMAGES = _Images()


class Figure(go.Figure):
    """A Plotly figure of the app that displays itself interactively and as a PNG (see the
    module's docstring); everything else is Plotly's ``go.Figure`` (``.show()``,
    ``.write_html()``, ``.update_layout()``, ...). ``png()`` gives the image's bytes."""

    def __init__(self, spec: dict | None = None, label: str = "gru-viz figure") -> None:
        # Data strings (tokens, symbols) HTML-escaped as the app's charts are (figures.safe);
        # not validated again: the app's specs are checked in its tests.
        super().__init__(None if spec is None else escaped(spec), _validate=False)
        self._label = label

    def plotly_json(self) -> dict:
        """The figure as Plotly's JSON (arrays as typed base64, as Plotly sends them)."""
        return json.loads(pio.to_json(self, validate=False))

    def png(self, width: int = PNG_WIDTH, scale: float = 1.0) -> bytes | None:
        """PNG bytes drawn locally by kaleido, or None when it cannot draw (it warns once)."""
        return self._png(self.plotly_json(), width, scale)

    def _png(self, fig: dict, width: int, scale: float) -> bytes | None:
        height = int(fig.get("layout", {}).get("height") or 500)
        return IMAGES.png(fig, width, height, scale)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs) -> dict:
        fig = self.plotly_json()
        bundle = {PLOTLY_MIME: fig | {"config": {"displaylogo": False}},
                  "text/plain": f"<{self._label}>"}
        if (not include or "image/png" in include) and "image/png" not in (exclude or ()):
            png = self._png(fig, PNG_WIDTH, 1.0)
            if png:
                bundle["image/png"] = base64.b64encode(png).decode("ascii")
        if include:
            bundle = {k: v for k, v in bundle.items() if k in include}
        return {k: v for k, v in bundle.items() if k not in (exclude or ())}

    def _ipython_display_(self) -> None:  # go.Figure's would use Plotly's renderers instead
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)


class Figures(tuple):
    """Several figures (e.g. one per layer and direction), displayed one after the other."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        for fig in self:
            display(fig)

    def __repr__(self) -> str:
        return f"<{len(self)} gru-viz figures: " + "; ".join(f._label for f in self) + ">"


class ColouredText(str):
    """Text coloured by one unit's value at each step (Karpathy et al. 2015).

    A plain string (the text itself) everywhere but in a notebook, which shows ``.html``: each
    token's background on the heatmaps' fixed colour scale, its value on hover.
    """

    html: str
    label: str

    def __new__(cls, plain: str, html: str, label: str) -> ColouredText:
        self = super().__new__(cls, plain)
        self.html, self.label = html, label
        return self

    def _repr_html_(self) -> str:
        return f"<div>{html_text(self.label)}</div>{self.html}"

    def __repr__(self) -> str:
        return f"<coloured text: {self.label}>\n{str(self)}"


# --- the views ---------------------------------------------------------------------------------

def _title(text: str) -> dict:
    """A figure title at the top left, above the panels' own titles."""
    return {"text": text, "x": 0, "xref": "paper", "xanchor": "left", "y": 0.995,
            "yanchor": "top", "font": {"size": 16}}


def heatmaps(cell: LayerTrace, notation: NotationLike = "pytorch",
             tokens: Sequence[object] | None = None, *, sequence: int | None = None,
             window: tuple[int, int] | None = None, max_cols: int | None = MAX_COLS,
             order: Sequence[int] | str | None = None, height: int | None = None) -> Figure:
    """The Explorer's four gate heatmaps (update, reset, candidate, state; units × time)."""
    nt = notation_of(notation)
    cell, note = one_sequence(cell, sequence)
    labels = step_tokens(tokens, cell.steps)
    if order is None:
        spec = heatmap_spec(cell, nt, labels, window, max_cols, height)
    else:
        if isinstance(order, str):  # an ordering of the Explorer's, by the state's values
            order = an.unit_order(cell.h, order)
        order = np.asarray(_units(order, cell.hidden_size))
        spec = ef.ordered_heatmaps(cell, nt, order, labels, window, max_cols, height)
    title = f"{cell.name}{note}: gates of {cell.hidden_size} units over {cell.steps} steps"
    spec["layout"]["title"] = _title(title)
    spec["layout"]["margin"] = spec["layout"]["margin"] | {"t": 80}
    return Figure(spec, f"gate heatmaps, {title} ({nt.name})")


def lines(cell: LayerTrace, units: Iterable[int] | int, notation: NotationLike = "pytorch",
          tokens: Sequence[object] | None = None, *, sequence: int | None = None,
          step: int | None = None) -> Figure:
    """The Explorer's unit lines: the four fields of the chosen units over time."""
    nt = notation_of(notation)
    cell, note = one_sequence(cell, sequence)
    units = _units(units, cell.hidden_size)
    spec = lines_spec(cell, nt, units, step_tokens(tokens, cell.steps), step)
    shown = ", ".join(map(str, units))
    spec["layout"]["title"] = _title(f"{cell.name}{note}: unit(s) {shown}")
    spec["layout"]["margin"] = spec["layout"]["margin"] | {"t": 100}
    return Figure(spec, f"unit lines, {cell.name}{note}, unit(s) {shown} ({nt.name})")


def saturation(cells: Sequence[LayerTrace], notation: NotationLike = "pytorch", *,
               sequence: int | None = None, left: float = 0.1, right: float = 0.9) -> Figure:
    """The Explorer's saturation scatter: per unit and gate, the share of steps below ``left``
    (nearly shut) against the share above ``right`` (nearly open), one panel per layer."""
    nt = notation_of(notation)
    if not 0 <= left < right <= 1:
        raise InputError(f"Thresholds left={left}, right={right}: need 0 ≤ left < right ≤ 1.")
    sat, note = {}, ""
    for c in cells:
        c, note = one_sequence(c, sequence)
        sat[(c.layer, int(c.reverse))] = {g: an.saturation(an.shown(nt, g, getattr(c, g)),
                                                           left, right) for g in an.GATES}
    spec = ef.saturation_scatter(sat, nt)
    return Figure(spec, f"saturation of {len(sat)} layer/direction(s){note} ({nt.name})")


def text(cell: LayerTrace, tokens: Sequence[object], unit: int, field: str = "h",
         notation: NotationLike = "pytorch", *, sequence: int | None = None,
         window: tuple[int, int] | None = None, running_text: bool | None = None
         ) -> ColouredText:
    """The Explorer's coloured text: each token's background is ``field`` of ``unit`` at that
    step, on the heatmaps' fixed scale. ``running_text`` joins tokens without spaces (the
    default when every token is one character)."""
    nt = notation_of(notation)
    cell, note = one_sequence(cell, sequence)
    field = _field(field)
    (unit,) = _units(unit, cell.hidden_size)
    tokens = [str(t) for t in tokens]
    if len(tokens) != cell.steps:
        raise InputError(f"{len(tokens)} tokens for {cell.steps} steps: give one per step.")
    start, stop = window if window is not None else (0, min(cell.steps, TEXT_STEPS))
    start, stop = max(0, start), min(cell.steps, stop, start + TEXT_STEPS)
    values = an.shown(nt, field, getattr(cell, field))[:, unit]
    lo, hi = an.RANGES[field]
    if running_text is None:
        running_text = all(len(t) == 1 for t in tokens)
    sep = "" if running_text else " "
    label = (f"{nt.label(field)} of unit {unit}, {cell.name}{note}, steps {start}–{stop - 1}, "
             f"scale [{lo:g}, {hi:g}]")
    html = coloured_text(tokens[start:stop], values[start:stop], lo, hi, ef.text_scale(field),
                         (), start, f"unit {unit} {nt.symbol(field)}", sep=sep)
    return ColouredText(sep.join(tokens[start:stop]), html, label)


def predictions(probs: np.ndarray, symbols: Sequence[str], tokens: Sequence[str], *,
                max_cols: int | None = MAX_COLS) -> Figure:
    """The Explorer's next-symbol probabilities (symbols × time, fixed [0, 1])."""
    labels = [display_token(str(s)) for s in symbols]
    spec = ef.prediction_heatmap(probs, labels, step_tokens(tokens, len(probs)),
                                 max_cols=max_cols)
    return Figure(spec, f"next-symbol probabilities over {len(probs)} steps")
