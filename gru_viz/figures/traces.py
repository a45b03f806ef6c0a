"""Plotly figures of a recorded run: pure functions, a LayerTrace in, a figure out.

One visual vocabulary (DESIGN.md §6): gates on a sequential colour-blind-safe scale fixed to
[0, 1], candidate and state on a diverging scale fixed to [−1, 1] centred at 0; time on x
with the tokens as tick labels, units on y. Arrays go out as float32 to keep payloads small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gru_viz.core.notation import Notation
from gru_viz.core.trace import LayerTrace

GATE_SCALE = "Viridis"
# ColorBrewer RdBu, blue for negative, red for positive; white at 0.
VALUE_SCALE = [[0.0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"],
               [1.0, "#b2182b"]]
# Okabe–Ito: distinguishable for the common colour-vision deficiencies; one colour per unit.
UNIT_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
                "#000000")
FIELDS = ("z", "r", "n", "h")
FONT = {"size": 18}
TICKS = {"tickfont": {"size": 16}}  # explicit: Streamlit's theme would shrink them
HOVER_CELLS = 20_000  # above this many cells, hover omits the input (it costs payload)
MARKERS_UP_TO = 30  # lines get a marker per step up to this many steps (beyond: clutter, cost)
# Margins are set to what the titles, tick labels, colour bars and legend need: when Plotly's
# automatic margins have to grow, it draws the whole figure again (about doubling its time).
HEATMAP_MARGIN = {"l": 75, "r": 125, "t": 50}
LINES_MARGIN = {"l": 60, "r": 20, "t": 75}


def field_values(cell: LayerTrace, notation: Notation, field: str) -> np.ndarray:
    """(T, H) values of a field as the notation defines them (course: Γu = 1 − z)."""
    return notation.values(field, getattr(cell, field))


def step_labels(x: np.ndarray, tokens: Sequence[str] | None = None) -> list[str]:
    """One label per timestep: the token when given, else the input vector's numbers."""
    if tokens is not None:
        return [str(s) for s in tokens]
    return [", ".join(f"{v:.3g}" for v in row) for row in np.asarray(x).reshape(len(x), -1)]


def columns(T: int, window: tuple[int, int] | None, max_cols: int | None) -> np.ndarray:
    """Timesteps drawn: those in ``window`` (start, stop), every k-th when over ``max_cols``."""
    start, stop = window if window is not None else (0, T)
    start, stop = max(0, start), min(T, stop)
    stride = max(1, math.ceil((stop - start) / max_cols)) if max_cols else 1
    return np.arange(start, stop, stride)


def stacked_domains(rows: int, gap: float) -> list[tuple[float, float]]:
    """Domains of ``rows`` panels stacked with ``gap`` between them, top first (reversed: left
    to right)."""
    h = (1 - gap * (rows - 1)) / rows
    return [(max(0.0, 1 - (k + 1) * h - k * gap), 1 - k * h - k * gap) for k in range(rows)]


def _title(text: str, x: float, y: float) -> dict:
    return {"text": text, "x": x, "y": y, "xref": "paper", "yref": "paper", "showarrow": False,
            "xanchor": "center", "yanchor": "bottom", "font": {"size": 19}}


def ticks(labels: list[str], cols: np.ndarray, most: int) -> dict:
    """Tick values and labels for at most about ``most`` of the columns ``cols``."""
    shown = cols[:: max(1, math.ceil(len(cols) / most))]  # legible on a projector
    return {"tickvals": shown.tolist(), "ticktext": [labels[t] for t in shown]}


def t_marks(tickvals: Sequence[int], xref: str = "x") -> list[dict]:
    """The step number t under each tick's input label, at the foot of the figure's lowest
    panel: annotations, since tick text is escaped data."""
    return [{"text": str(t), "name": "t", "x": t, "xref": xref, "y": 0, "yref": "paper",
             "yanchor": "top", "yshift": -44, "showarrow": False,
             "font": {"size": 16, "color": "#777"}} for t in tickvals]


def _bottom(ticktext: list[str], below: int) -> int:
    """Bottom margin for the x tick labels (upright, or turned when crowded) and ``below``
    pixels under them (an axis title, a legend)."""
    return min(200, below + 9 * max((len(s) for s in ticktext), default=0))


def heatmap_spec(cell: LayerTrace, notation: Notation, tokens: Sequence[str] | None = None,
                 window: tuple[int, int] | None = None, max_cols: int | None = None,
                 height: int | None = None, max_ticks: int = 40,
                 input_track: bool = False, hover_cells: int = HOVER_CELLS) -> dict:
    """The figure of ``gate_heatmaps`` as a plain dict (st.plotly_chart takes it directly;
    building it without Plotly's per-call validation keeps a rerun fast). ``max_ticks``: about
    how many time steps get a tick label (fewer for a narrow figure). ``input_track``: the
    input as a fifth, thin panel under the four, ticks reading "t" over the input, and titles
    left-aligned over the whole width (a narrow column keeps them whole). ``hover_cells``: up
    to how many cells per panel the hover names each step's input (it costs payload)."""
    T, H = cell.steps, cell.hidden_size
    labels = step_labels(cell.x, tokens)
    cols = columns(T, window, max_cols)
    units = np.arange(H)
    hover_input = H * len(cols) <= hover_cells
    custom = np.broadcast_to(np.array([labels[t] for t in cols], dtype=object),
                             (H, len(cols))).tolist() if hover_input else None
    stride = int(cols[1] - cols[0]) if len(cols) > 1 else 1
    data, layout = [], {}
    domains = stacked_domains(4, 0.07)
    track = 0.0
    if input_track:  # the four panels above, the input below them
        I = np.asarray(cell.x).reshape(T, -1).shape[1]
        track = min(0.2, 0.05 + 0.025 * I)
        domains = [(track + 0.06 + a * (0.94 - track), track + 0.06 + b * (0.94 - track))
                   for a, b in stacked_domains(4, 0.1)]
    for k, (f, dom) in enumerate(zip(FIELDS, domains)):
        ax = "" if k == 0 else str(k + 1)
        sym = notation.symbol(f)
        data.append({
            "type": "heatmap", "xaxis": "x", "yaxis": f"y{ax}", "name": sym,
            "z": np.ascontiguousarray(field_values(cell, notation, f)[cols].T, dtype=np.float32),
            "x": cols, "y": units, "coloraxis": "coloraxis" if f in "zr" else "coloraxis2",
            "customdata": custom,
            "hovertemplate": f"t = %{{x:d}}<br>{'input: %{customdata}<br>' if hover_input else ''}"
                             f"unit %{{y}}<br>{sym} = %{{z:.3f}}<extra></extra>"})
        layout[f"yaxis{ax}"] = {"domain": dom, "anchor": "x", "title": {"text": "unit"}, **TICKS,
                                "autorange": "reversed",
                                **({"tickvals": units.tolist()} if H <= 16 else {})}
    layout["xaxis"] = {"anchor": f"y{len(FIELDS)}", "domain": [0, 1],
                       **ticks(labels, cols, max_ticks),
                       **TICKS,
                       "title": {"text": "time step t (input)"
                                 + (f", one step in {stride} drawn" if stride > 1 else "")}}
    titles = [_title(notation.label(f), 0.5, dom[1]) for f, dom in zip(FIELDS, domains)]
    bottom = _bottom(layout["xaxis"]["ticktext"], 60)
    if input_track:
        xs = np.asarray(cell.x, dtype=np.float32).reshape(T, -1)[cols].T
        rows = list(tokens_vocab(tokens, xs.shape[0]))
        data.append({"type": "heatmap", "xaxis": "x", "yaxis": "y5", "name": "input",
                     "z": np.ascontiguousarray(xs), "x": cols, "y": np.arange(xs.shape[0]),
                     "colorscale": "Greys", "zmin": -float(np.abs(xs).max() or 1),
                     "zmax": float(np.abs(xs).max() or 1), "showscale": False,
                     "hovertemplate": "t = %{x:d}<br>input %{y} = %{z:.3g}<extra></extra>"})
        layout["yaxis5"] = {"domain": [0, track], "anchor": "x", **TICKS, "autorange": "reversed",
                            "tickvals": list(range(len(rows))), "ticktext": rows}
        layout["xaxis"] |= {"anchor": "y5", "title": {"text": ""}}
        titles = [_title(notation.label(f), 0, dom[1]) | {"xanchor": "left", "xshift": -70,
                                                           "font": {"size": 17}}
                  for f, dom in zip(FIELDS, domains)]
        titles.append(_title("input x⟨t⟩ (on the axis: the input, then t)", 0, track)
                      | {"xanchor": "left", "xshift": -70, "font": {"size": 16}})
        titles += t_marks(layout["xaxis"]["tickvals"])
        bottom = 66
    layout |= {
        "height": height or max(560, 4 * (60 + 22 * min(H, 16))), "font": FONT,
        "margin": {**HEATMAP_MARGIN, "b": min(200, bottom)},
        "annotations": titles,
        "coloraxis": {"colorscale": GATE_SCALE, "cmin": 0, "cmax": 1,
                      "colorbar": {"title": {"text": "gates"}, "y": 0.77, "len": 0.45, **TICKS}},
        "coloraxis2": {"colorscale": VALUE_SCALE, "cmin": -1, "cmax": 1, "cmid": 0,
                       "colorbar": {"title": {"text": "values"}, "y": 0.23, "len": 0.45,
                                    **TICKS}}}
    return {"data": data, "layout": layout}


def tokens_vocab(tokens: Sequence[str] | None, rows: int) -> list[str]:
    """Row labels of the input track: x[0], x[1], … (numbers) or the input index (symbols)."""
    return [f"x[{i}]" for i in range(rows)]


def gate_heatmaps(cell: LayerTrace, notation: Notation, tokens: Sequence[str] | None = None,
                  window: tuple[int, int] | None = None, max_cols: int | None = None,
                  height: int | None = None) -> go.Figure:
    """Update gate, reset gate, candidate and state (units × time) on one shared time axis.

    ``window`` (start, stop) restricts the timesteps; ``max_cols`` caps the drawn columns by
    striding (an overview of a long run). x values stay the true t, so hover and ticks agree.
    """
    return go.Figure(heatmap_spec(cell, notation, tokens, window, max_cols, height))


def lines_spec(cell: LayerTrace, notation: Notation, units: Sequence[int],
               tokens: Sequence[str] | None = None, step: int | None = None,
               show_t: bool = False) -> dict:
    """The figure of ``unit_lines`` as a plain dict; ``show_t``: the step number t under each
    tick's input (for short inputs and few ticks, as in the lesson)."""
    T = cell.steps
    labels = step_labels(cell.x, tokens)
    t = np.arange(T)
    data, layout, notes = [], {}, []
    rows, cols = stacked_domains(2, 0.2), [(0.0, 0.46), (0.54, 1.0)]
    for k, f in enumerate(FIELDS):
        ax = "" if k == 0 else str(k + 1)
        ydom, xdom = rows[k // 2], cols[k % 2]
        values = field_values(cell, notation, f).astype(np.float32)
        sym = notation.symbol(f)
        for j in units:
            data.append({
                "type": "scatter", "xaxis": f"x{ax}", "yaxis": f"y{ax}", "x": t,
                "y": values[:, j], "mode": "lines+markers" if T <= MARKERS_UP_TO else "lines",
                "name": f"unit {j}",
                "legendgroup": str(j), "showlegend": k == 0, "customdata": labels,
                "line": {"color": UNIT_COLOURS[j % len(UNIT_COLOURS)], "width": 3},
                "hovertemplate": f"t = %{{x:d}}<br>input: %{{customdata}}<br>unit {j}<br>"
                                 f"{sym} = %{{y:.3f}}<extra></extra>"})
        layout[f"xaxis{ax}"] = {"domain": xdom, "anchor": f"y{ax}", **ticks(labels, t, 8),
                                **TICKS, **({"matches": "x"} if k else {})}
        layout[f"yaxis{ax}"] = {"domain": ydom, "anchor": f"x{ax}", **TICKS,
                                "range": [-0.05, 1.05] if f in "zr" else [-1.05, 1.05]}
        # two lines: a half-width panel cannot hold the update gate's meaning on one
        notes.append(_title(notation.label(f).replace(" (", "<br>("), sum(xdom) / 2, ydom[1]))
        if show_t and k >= 2:  # the lower row's axes
            notes += t_marks(layout[f"xaxis{ax}"]["tickvals"], xref=f"x{ax}")
    if step is not None:
        layout["shapes"] = [{"type": "line", "x0": step, "x1": step, "xref": f"x{ax}",
                             "y0": 0, "y1": 1, "yref": f"y{ax} domain",
                             "line": {"dash": "dot", "width": 2, "color": "grey"}}
                            for ax in ("", "2", "3", "4")]
    layout |= {"height": 600, "font": FONT, "annotations": notes,
               "margin": {**LINES_MARGIN,
                          "b": _bottom(layout["xaxis"]["ticktext"], 55 + 22 * show_t)},
               # at the figure's foot, under the tick labels however tall they are
               "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom",
                          "font": {"size": 17}}}
    return {"data": data, "layout": layout}


def unit_lines(cell: LayerTrace, notation: Notation, units: Sequence[int],
               tokens: Sequence[str] | None = None, step: int | None = None) -> go.Figure:
    """The four fields of the chosen units as lines over time, fixed y ranges, one colour a
    unit; ``step`` draws a dotted marker at that timestep."""
    return go.Figure(lines_spec(cell, notation, units, tokens, step))


def squash_spec() -> dict:
    """σ and tanh, the gates' and the candidate's squashing functions: a small figure (Home
    draws it last, so that the browser evaluates Plotly's code before the first teaching
    chart is wanted)."""
    a = np.linspace(-6, 6, 121, dtype=np.float32)
    data = [{"type": "scatter", "x": a, "y": 0.5 * (1 + np.tanh(a / 2)), "name": "σ(a): gates",
             "line": {"color": UNIT_COLOURS[0], "width": 3}},
            {"type": "scatter", "x": a, "y": np.tanh(a), "name": "tanh(a): candidate",
             "line": {"color": UNIT_COLOURS[1], "width": 3}}]
    return {"data": data, "layout": {
        "height": 230, "font": FONT, "margin": {"l": 50, "r": 10, "t": 10, "b": 45},
        "xaxis": {"title": {"text": "a"}, **TICKS}, "yaxis": {"range": [-1.05, 1.05], **TICKS},
        "legend": {"x": 0.02, "y": 0.98, "font": {"size": 16}}}}
