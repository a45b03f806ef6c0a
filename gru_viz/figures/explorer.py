"""Figures of the checkpoint explorer, as plain Plotly dicts (fast to build, small to send).

The gate heatmaps themselves are ``gru_viz.figures``'s; this module reorders their units and
adds the research views: saturation scatter (Karpathy et al. 2015), value histograms,
expected response (RNNVis), difference heatmaps, next-symbol probabilities, correlation with a
signal. Same vocabulary as figures.py: gates fixed to [0, 1], values diverging around 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import plotly.colors

from gru_viz.analysis.units import GATES, SaturationCounts
from gru_viz.core.notation import Notation
from gru_viz.core.trace import LayerTrace
from gru_viz.core.untrusted import html_text
from gru_viz.figures.traces import (
    FONT,
    GATE_SCALE,
    HOVER_CELLS,
    UNIT_COLOURS,
    VALUE_SCALE,
    columns,
    heatmap_spec,
    stacked_domains,
    step_labels,
    ticks,
)

PROB_SCALE = "Viridis"
CHART_BYTES = 8 * 2**20  # the most one chart may send (issue 16)
# JSON bytes of one value: a float32 in base64 (figure_json writes "/" as it is, where
# plotly's encoder writes 6 bytes)
VALUE_BYTES = 16 / 3
WINDOW_TICKS = 40  # about how many steps of a window get a tick label


def text_scale(field: str) -> list[list]:
    """The heatmaps' colour scale of a field as ``[[position, "#rrggbb"], ...]`` (for text)."""
    if field in GATES:  # Plotly names this scale; its stops are hex colours
        return [list(s) for s in plotly.colors.get_colorscale(GATE_SCALE)]
    return [list(s) for s in VALUE_SCALE]


def ordered_heatmaps(cell: LayerTrace, notation: Notation, order: np.ndarray,
                     tokens: Sequence[str] | None = None,
                     window: tuple[int, int] | None = None, max_cols: int | None = None,
                     height: int | None = None, hover_cells: int = HOVER_CELLS) -> dict:
    """figures.heatmap_spec with its unit rows in ``order`` (units keep their ids as labels)."""
    spec = heatmap_spec(cell, notation, tokens, window, max_cols, height,
                        hover_cells=hover_cells)
    labels = [str(u) for u in order]
    for trace in spec["data"]:
        trace["z"] = trace["z"][order]
        trace["y"] = labels
    for name, axis in spec["layout"].items():
        if name.startswith("yaxis"):
            axis["type"] = "category"
            axis.pop("tickvals", None)
            if len(order) > 32:
                axis["showticklabels"] = False
    return spec


def heatmap_bytes(H: int, steps: int, label_bytes: float = 0.0) -> float:
    """About the JSON bytes of ``ordered_heatmaps`` over ``steps`` full-resolution columns, as
    ``figure_json`` writes them for the chart drawn in place: per panel, H × steps values of
    ``VALUE_BYTES``, the steps' x
    (plotly narrows them to ≤ 4 bytes, in base64) and ``label_bytes`` per cell when the hover
    names each step's input; the layout (ticks, titles, the span's labels) on top. Linear in
    ``steps``."""
    return 4 * (VALUE_BYTES * H + 6 + H * label_bytes) * steps + 64 * steps + 20_000


def label_bytes(labels: Sequence[str]) -> float:
    """Mean JSON bytes of one escaped step label in a list (the hover's input, a cell each)."""
    return sum(len(json.dumps(html_text(s))) + 1 for s in labels) / max(1, len(labels))


def browser_span(cell: LayerTrace, notation: Notation, window: tuple[int, int],
                 labels: Sequence[str]) -> tuple[tuple[int, int], bool]:
    """The steps (start, stop) to draw at full resolution so that ``window`` moves over them
    in the browser, and whether the hover names each step's input.

    The whole run when it fits CHART_BYTES, else as many steps centred on the window as fit
    (at least the window: beyond the span, moving is a server round trip). The hover names
    the input where the window alone would (``HOVER_CELLS``), and its bytes are counted.
    """
    T, H = cell.steps, cell.hidden_size
    start, stop = window
    hover = H * (stop - start) <= HOVER_CELLS
    per_label = label_bytes(labels) if hover else 0.0
    fixed = heatmap_bytes(H, 0, per_label)
    fits = int((CHART_BYTES - fixed) // (heatmap_bytes(H, 1, per_label) - fixed))
    steps = min(T, max(stop - start, fits))
    first = min(max(0, start - (steps - (stop - start)) // 2), T - steps)
    return (first, first + steps), hover


def window_ticks(labels: Sequence[str], window: tuple[int, int], span: tuple[int, int],
                 most: int = WINDOW_TICKS) -> dict:
    """Ticks over the whole ``span`` at the multiples of the stride that gives a ``window``
    about ``most`` of them: Plotly draws those in view, so that moving the window is a change
    of the x range alone, and a tick stays on its step."""
    k = max(1, math.ceil((window[1] - window[0]) / most))
    shown = range(-(-span[0] // k) * k, span[1], k)
    return {"tickvals": list(shown), "ticktext": [labels[t] for t in shown]}


def window_heatmaps(cell: LayerTrace, notation: Notation, order: np.ndarray,
                    tokens: Sequence[str] | None, span: tuple[int, int],
                    window: tuple[int, int], hover: bool) -> dict:
    """``ordered_heatmaps`` of the steps ``span`` at full resolution, showing ``window``
    (start, stop) of them: the browser moves the x range over the span without the server.
    The first trace's ``meta`` says which steps the chart holds."""
    H = cell.hidden_size
    spec = ordered_heatmaps(cell, notation, order, tokens, window=span,
                            hover_cells=H * (span[1] - span[0]) if hover else 0)
    spec["data"][0]["meta"] = {"first": span[0], "stop": span[1]}
    start, stop = window
    spec["layout"]["xaxis"] |= {"range": [start - 0.5, stop - 0.5],
                                **window_ticks(step_labels(cell.x, tokens), window, span)}
    return spec


def _layout(height: int, **extra) -> dict:
    return {"height": height, "font": FONT, "margin": {"l": 70, "r": 20, "t": 80, "b": 60},
            **extra}


def saturation_scatter(sat: dict[tuple[int, int], dict[str, SaturationCounts]],
                       notation: Notation) -> dict:
    """One panel per layer: each unit's fraction of steps left- (x) vs right-saturated (y),
    per gate (colour) and direction (open markers: reverse)."""
    layers = sorted({k for k, _ in sat})
    domains = stacked_domains(len(layers), 0.06)[::-1]  # left to right
    data, layout, notes = [], {}, []
    for i, k in enumerate(layers):
        ax = "" if i == 0 else str(i + 1)
        dom = list(domains[i])
        for (kk, d), gates in sorted(sat.items()):
            if kk != k:
                continue
            for g, colour in zip(GATES, UNIT_COLOURS):
                c = gates[g]
                data.append({
                    "type": "scatter", "mode": "markers", "xaxis": f"x{ax}", "yaxis": f"y{ax}",
                    "x": c.left.astype(np.float32), "y": c.right.astype(np.float32),
                    "customdata": np.arange(len(c.left)),
                    "name": f"{notation.symbol(g)}" + (" reverse" if d else ""),
                    "legendgroup": f"{g}{d}", "showlegend": i == 0,
                    "marker": {"color": colour, "size": 9, "opacity": 0.75,
                               "symbol": "circle-open" if d else "circle"},
                    "hovertemplate": f"layer {k}{' reverse' if d else ''}, unit %{{customdata}}"
                                     f"<br>{notation.symbol(g)}: left %{{x:.2f}}, right "
                                     "%{y:.2f}<extra></extra>"})
        layout[f"xaxis{ax}"] = {"domain": dom, "range": [-0.03, 1.03], "anchor": f"y{ax}",
                                "title": {"text": "fraction left-saturated"}}
        layout[f"yaxis{ax}"] = {"range": [-0.03, 1.03], "anchor": f"x{ax}",
                                "title": {"text": "fraction right-saturated" if i == 0 else ""}}
        notes.append({"text": f"layer {k}", "x": sum(dom) / 2, "y": 1.0, "xref": "paper",
                      "yref": "paper", "showarrow": False, "yanchor": "bottom"})
    # x + y ≤ 1: the feasible triangle
    layout["shapes"] = [{"type": "line", "x0": 0, "y0": 1, "x1": 1, "y1": 0,
                         "xref": f"x{'' if i == 0 else i + 1}",
                         "yref": f"y{'' if i == 0 else i + 1}",
                         "line": {"dash": "dot", "color": "grey"}} for i in range(len(layers))]
    legend = {"orientation": "h", "y": -0.22, "x": 0}
    return {"data": data, "layout": layout | _layout(520, annotations=notes, legend=legend,
                                                     margin={"l": 70, "r": 20, "t": 40, "b": 120})}


def histogram_heatmap(hist: np.ndarray, lo: float, hi: float, order: np.ndarray,
                      title: str, thresholds: Sequence[float] = ()) -> dict:
    """Units (rows, in ``order``) × value bins: each unit's share of steps in each bin."""
    H, bins = hist.shape
    share = hist / np.maximum(hist.sum(1, keepdims=True), 1)
    centres = lo + (np.arange(bins) + 0.5) * (hi - lo) / bins
    data = [{"type": "heatmap", "z": share[order].astype(np.float32), "x": centres,
             "y": [str(u) for u in order], "colorscale": PROB_SCALE, "zmin": 0,
             "colorbar": {"title": {"text": "share of steps"}},
             "hovertemplate": "unit %{y}<br>value ≈ %{x:.2f}<br>share %{z:.3f}<extra></extra>"}]
    return {"data": data, "layout": _layout(
        max(360, min(900, 60 + 12 * H)), title={"text": title},
        xaxis={"title": {"text": "value"}, "range": [lo, hi]},
        yaxis={"title": {"text": "unit"}, "type": "category", "autorange": "reversed",
               "showticklabels": H <= 48},
        shapes=[{"type": "line", "x0": t, "x1": t, "y0": 0, "y1": 1, "yref": "paper",
                 "line": {"color": "#d62728", "dash": "dash", "width": 2}} for t in thresholds])}


def response_heatmap(mean: np.ndarray, counts: np.ndarray, symbols: Sequence[str],
                     order: np.ndarray) -> dict:
    """RNNVis's expected response: units (rows) × symbols, mean h_t − h_{t−1} per occurrence.

    Its range is [−2, 2] in principle; the scale is symmetric around 0 at the largest |value|
    so that small responses stay visible, and says so.
    """
    H, V = mean.shape
    seen = np.flatnonzero(counts > 0)
    m = float(np.abs(mean[:, seen]).max()) if seen.size else 1.0
    data = [{"type": "heatmap", "z": mean[np.ix_(order, seen)].astype(np.float32),
             "x": [f"{symbols[v]} ({counts[v]})" for v in seen], "y": [str(u) for u in order],
             "colorscale": VALUE_SCALE, "zmin": -m, "zmax": m, "zmid": 0,
             "colorbar": {"title": {"text": f"mean Δh (±{m:.2f})"}},
             "hovertemplate": "unit %{y}<br>symbol %{x}<br>mean Δh %{z:.3f}<extra></extra>"}]
    return {"data": data, "layout": _layout(
        max(360, min(1000, 80 + 12 * H)),
        xaxis={"title": {"text": "symbol (occurrences)"}, "type": "category"},
        yaxis={"title": {"text": "unit"}, "type": "category", "autorange": "reversed",
               "showticklabels": H <= 48})}


def difference_heatmaps(diffs: dict[str, np.ndarray], notation: Notation, labels: list[str],
                        order: np.ndarray) -> dict:
    """B − A per field at the aligned steps (N, H): gates on [−1, 1], candidate and state on
    [−2, 2], units in ``order``."""
    fields = list(diffs)
    domains = stacked_domains(len(fields), 0.07)
    x = np.arange(len(labels))
    data, layout, notes = [], {}, []
    for k, f in enumerate(fields):
        ax = "" if k == 0 else str(k + 1)
        dom = list(domains[k])
        data.append({"type": "heatmap", "xaxis": "x", "yaxis": f"y{ax}",
                     "z": np.ascontiguousarray(diffs[f][:, order].T, dtype=np.float32), "x": x,
                     "y": [str(u) for u in order], "customdata": [labels] * len(order),
                     "coloraxis": "coloraxis" if f in GATES else "coloraxis2",
                     "hovertemplate": "step %{customdata}<br>unit %{y}<br>"
                                      f"Δ{notation.symbol(f)} = %{{z:.3f}}<extra></extra>"})
        layout[f"yaxis{ax}"] = {"domain": dom, "anchor": "x", "type": "category",
                                "autorange": "reversed", "title": {"text": "unit"},
                                "showticklabels": len(order) <= 32}
        notes.append({"text": f"Δ {notation.label(f)} (B − A)", "x": 0.5, "y": dom[1],
                      "xref": "paper", "yref": "paper", "showarrow": False,
                      "yanchor": "bottom", "font": {"size": 17}})
    layout["xaxis"] = {"anchor": f"y{len(fields)}", **ticks(labels, x, 40),
                       "title": {"text": "aligned step (A → B where edited)"}}
    axis = {"colorscale": VALUE_SCALE, "cmid": 0}
    return {"data": data, "layout": layout | _layout(
        max(560, len(fields) * (70 + 10 * min(len(order), 24))), annotations=notes,
        coloraxis=axis | {"cmin": -1, "cmax": 1, "colorbar": {"title": {"text": "Δ gate"},
                                                               "y": 0.77, "len": 0.45}},
        coloraxis2=axis | {"cmin": -2, "cmax": 2, "colorbar": {"title": {"text": "Δ value"},
                                                                "y": 0.23, "len": 0.45}})}


def prediction_heatmap(probs: np.ndarray, symbols: Sequence[str], tokens: Sequence[str],
                       window: tuple[int, int] | None = None, max_cols: int | None = None,
                       rows: int = 30, step: int | None = None) -> dict:
    """Next-symbol probabilities (symbols × time, fixed [0, 1]): the ``rows`` symbols most
    often in the top 3 when the vocabulary is larger."""
    T, V = probs.shape
    cols = columns(T, window, max_cols)
    shown = np.arange(V)
    if rows < V:
        top3 = np.argsort(-probs[cols], axis=1)[:, :3].ravel()
        shown = np.argsort(-np.bincount(top3, minlength=V), kind="stable")[:rows]
    data = [{"type": "heatmap", "z": np.ascontiguousarray(probs[np.ix_(cols, shown)].T,
                                                          dtype=np.float32),
             "x": cols, "y": [symbols[v] for v in shown], "colorscale": PROB_SCALE,
             "zmin": 0, "zmax": 1, "colorbar": {"title": {"text": "p(next)"}},
             "hovertemplate": "t = %{x:d}<br>next = %{y}<br>p = %{z:.3f}<extra></extra>"}]
    shapes = [] if step is None else [{"type": "line", "x0": step, "x1": step, "y0": 0,
                                       "y1": 1, "yref": "paper",
                                       "line": {"color": "#d62728", "width": 2}}]
    return {"data": data, "layout": _layout(
        max(320, min(900, 90 + 18 * len(shown))), shapes=shapes,
        xaxis={"title": {"text": "time step t (input)"}, **ticks(list(tokens), cols, 40)},
        yaxis={"title": {"text": "next symbol"}, "type": "category", "autorange": "reversed"})}


def top_k_bars(ids: np.ndarray, probs: np.ndarray, symbols: Sequence[str], title: str) -> dict:
    """The top-k next symbols at one step, most likely on top."""
    data = [{"type": "bar", "orientation": "h", "x": probs.astype(np.float32),
             "y": [f"{symbols[i]} " for i in ids], "marker": {"color": UNIT_COLOURS[0]},
             "hovertemplate": "%{y}: p = %{x:.3f}<extra></extra>"}]
    return {"data": data, "layout": _layout(
        max(260, 60 + 32 * len(ids)), title={"text": title},
        xaxis={"range": [0, 1], "title": {"text": "probability"}},
        yaxis={"autorange": "reversed", "type": "category"})}


def correlation_bars(r: np.ndarray, signal: str) -> dict:
    """Each unit's correlation with a signal, in [−1, 1]."""
    return {"data": [{"type": "bar", "x": np.arange(len(r)), "y": r.astype(np.float32),
                      "marker": {"color": np.where(r >= 0, "#b2182b", "#2166ac")},
                      "hovertemplate": "unit %{x}: r = %{y:.3f}<extra></extra>"}],
            "layout": _layout(340, xaxis={"title": {"text": "unit"}},
                              yaxis={"range": [-1, 1],
                                     "title": {"text": f"correlation with {signal}"}})}


def head_lines(head: np.ndarray, tokens: Sequence[str], names: Sequence[str]) -> dict:
    """A head's outputs over time (one line per output), for heads that predict no symbol."""
    t = np.arange(len(head))
    data = [{"type": "scatter", "mode": "lines", "x": t, "y": head[:, j].astype(np.float32),
             "name": f"output {names[j]}", "line": {"color": UNIT_COLOURS[j % len(UNIT_COLOURS)],
                                                   "width": 3},
             "hovertemplate": f"t = %{{x:d}}<br>output {names[j]} = %{{y:.3f}}<extra></extra>"}
            for j in range(head.shape[1])]
    return {"data": data, "layout": _layout(
        380, xaxis={"title": {"text": "time step t (input)"}, **ticks(list(tokens), t, 30)},
        yaxis={"title": {"text": "head output"}}, legend={"orientation": "h", "y": 1.15})}
