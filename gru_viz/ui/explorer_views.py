"""The explorer's views of one run: gates, units, saturation, unit search, predictions.

Payload budget (DESIGN.md §6): a heatmap overview is capped in columns (strided) and a zoomed
window is drawn at full resolution, both in float32, with at most PANEL_CELLS cells per panel
in view: 400 columns up to H = 160, fewer for larger models (250 at H = 256). The overview
is serialised again on each rerun, in time proportional to its size. The window's chart holds
as many steps around it as fit 8 MB (the whole run when they fit), is drawn in place from its
JSON kept with that span, and is moved over them in the browser (``ui.panning``).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from gru_viz.analysis import units as an
from gru_viz.core import budget
from gru_viz.core.notation import Notation
from gru_viz.core.trace import LayerTrace
from gru_viz.core.untrusted import html_text, markdown_text, md
from gru_viz.figures import explorer as ef
from gru_viz.figures.textcolor import coloured_text
from gru_viz.figures.traces import lines_spec, step_labels
from gru_viz.figures.wire import figure_json
from gru_viz.ui.charts import chart, chart_in_place
from gru_viz.ui.explorer_input import Run
from gru_viz.ui.panning import pan_bar, window_start
from gru_viz.ui.state import Explorer

PANEL_CELLS = 64_000
WINDOW = 400  # steps of the narrow charts (predictions)
TEXT_STEPS = 2000  # most tokens coloured at once
FIELD_NAMES = {"z": "update gate", "r": "reset gate", "n": "candidate", "h": "hidden state"}


def field_picker(nt: Notation, key: str, default: str = "h", label: str = "Field") -> str:
    fields = list(FIELD_NAMES)
    return st.selectbox(markdown_text(label), fields, index=fields.index(default), key=key,
                        format_func=lambda f: nt.label(f))


@st.cache_data(max_entries=64, ttl=budget.IDLE_SECONDS, show_spinner=False)
def unit_order(run_key: str, layer: int, direction: int, field: str, how: str, nt_key: str,
               _values: np.ndarray) -> np.ndarray:
    """Cached per (run, cell, field, ordering, notation): clustering costs tens of ms."""
    return an.unit_order(_values, how)


def heatmap_cols(H: int) -> int:
    """Columns of a units × time heatmap panel within the payload budget."""
    return max(100, min(400, PANEL_CELLS // H))


def window_slider(T: int, key: str, size: int = WINDOW) -> tuple[int, int]:
    """(start, stop) of a window of ``size`` steps, or the whole run when it is shorter."""
    if size >= T:
        return 0, T
    start = st.slider(f"Window start (full resolution, {size:d} steps)", 0, T - size, 0,
                      key=f"{key}.{T}")  # keyed by T: a shorter input never meets a stale value
    return start, start + size


def gates_view(r: Run, cell: LayerTrace, nt: Notation, order: np.ndarray) -> None:
    T, cols = cell.steps, heatmap_cols(cell.hidden_size)
    chart(ef.ordered_heatmaps(cell, nt, order, r.tokens, max_cols=cols),
                    key="ex.overview")
    if cols < T:
        st.caption(f"Overview of all {T:d} steps (one step in {int(np.ceil(T / cols)):d} "
                   "drawn). The window below shows every step.")
        _zoom(r, cell, nt, order)


@st.fragment
def _zoom(r: Run, cell: LayerTrace, nt: Notation, order: np.ndarray) -> None:
    """The full-resolution window: its chart holds a span of steps around it
    (``Explorer.window_drawn``), kept while the window stays inside, so that moving it in the
    browser and telling the server later sends no chart again. The chart's JSON is kept with
    it: up to 8 MB, it took most of every rerun of the page to make again (and st.plotly_chart
    hashes and re-encodes it), and the chart drawn in place is not redrawn when it is the
    same."""
    T, H = cell.steps, cell.hidden_size
    size = heatmap_cols(H)
    start = window_start(T, size)
    what = (r.key, cell.name, nt.key, order.tobytes())
    drawn = Explorer.window_drawn.get()
    if drawn and drawn[0] == what and drawn[1][0] <= start and start + size <= drawn[1][1]:
        _, span, figure = drawn
    else:
        span, hover = ef.browser_span(cell, nt, (start, start + size),
                                       step_labels(cell.x, r.tokens))
        figure = figure_json(ef.window_heatmaps(cell, nt, order, r.tokens, span,
                                                (start, start + size), hover))
        Explorer.window_drawn.set((what, span, figure))
    pan_bar(T, size, span, start, "ex.zoomed", key=f"ex.pan.{T}")
    chart_in_place(figure, key="ex.zoomed")


def units_view(r: Run, cell: LayerTrace, nt: Notation, order: np.ndarray) -> None:
    H = cell.hidden_size
    units = st.multiselect("Units to follow", list(range(H)),
                           default=[int(u) for u in order[:3]], key=f"ex.units.{H}",
                           format_func=lambda u: f"unit {u}")
    if units:
        chart(lines_spec(cell, nt, units, r.tokens), key="ex.lines")
    depth = None
    if r.symbols is not None and set(r.symbols) <= set("()[]{}<>"):
        depth = an.correlate(cell.h, an.nesting_depth(r.symbols))
    st.subheader("The input coloured by a unit")
    c1, c2 = st.columns(2)
    first = int(np.argmax(np.abs(depth))) if depth is not None else int(
        units[0] if units else order[0])
    unit = c1.selectbox("Unit", list(range(H)), index=first, key=f"ex.colour_unit.{H}",
                        format_func=lambda u: f"unit {u}")
    with c2:
        field = field_picker(nt, "ex.colour_field", label="Value")
    colour_text(r, cell, nt, field, unit, "ex.text_window")
    if depth is not None:
        depth_view(depth)


def colour_text(r: Run, cell: LayerTrace, nt: Notation, field: str, unit: int, key: str,
                marked: list[tuple[int, int]] = ()) -> None:
    values = an.shown(nt, field, getattr(cell, field))[:, unit]
    start, stop = window_slider(cell.steps, key, TEXT_STEPS)
    lo, hi = an.RANGES[field]
    st.html(coloured_text(r.text[start:stop], values[start:stop], lo, hi, ef.text_scale(field),
                          marked, start, f"unit {unit} {nt.symbol(field)}",
                          sep="" if r.running_text else " "))
    st.caption(md("Background: {} of unit {:d} at each step, on the heatmaps' fixed scale "
                  "[{:g}, {:g}]. Hover a character for its value.", nt.label(field), unit,
                  lo, hi))


def depth_view(corr: np.ndarray) -> None:
    """Bracket input: each unit's correlation with the true nesting depth."""
    best = np.argsort(-np.abs(corr))[:3]
    st.subheader("Units that track the nesting depth")
    st.markdown("Correlation of each unit's state with the true bracket depth after each "
                "character: " + ", ".join(f"unit {u:d} (r = {corr[u]:+.2f})" for u in best) + ".")
    chart(ef.correlation_bars(corr, "nesting depth"), key="ex.depth")


def saturation_view(r: Run, cell_id: tuple[int, int], nt: Notation, order: np.ndarray) -> None:
    c1, c2 = st.columns(2)
    left = c1.slider("Left-saturated below", 0.0, 0.5, 0.1, 0.01, key="ex.sat_left")
    right = c2.slider("Right-saturated above", 0.5, 1.0, 0.9, 0.01, key="ex.sat_right")
    sat = {(k, d): {g: an.saturation(an.shown(nt, g, getattr(c, g)), left, right)
                    for g in an.GATES}
           for k, layer in enumerate(r.trace.layers) for d, c in enumerate(layer)}
    chart(ef.saturation_scatter(sat, nt), key="ex.sat")
    st.caption("Each point is one unit's gate: the share of steps it spends nearly shut "
               "(left) or nearly open (right), as in Karpathy et al. (2015).")
    field = field_picker(nt, "ex.hist_field", "z", "Histogram of")
    cell = r.trace.layers[cell_id[0]][cell_id[1]]
    lo, hi = an.RANGES[field]
    hist = an.histograms(an.shown(nt, field, getattr(cell, field)), lo, hi, 40)
    chart(ef.histogram_heatmap(hist, lo, hi, order, f"{nt.label(field)}: values of "
                                         f"each unit ({cell.name})",
                                         (left, right) if field in an.GATES else ()),
                    key="ex.hist")


def search_view(r: Run, cell: LayerTrace, cell_id: tuple[int, int], nt: Notation) -> None:
    T = cell.steps
    c1, c2, c3 = st.columns(3)
    with c1:
        field = field_picker(nt, "ex.search_field")
    span = c2.slider("Span of steps [start, stop)", 0, T, (T // 4, min(T, T // 4 + 3)),
                     key=f"ex.search_span.{T}")
    low = c3.radio("A unit is on when its value is", ["high", "low"], key="ex.search_sign",
                   horizontal=True) == "low"
    sign = -1.0 if low else 1.0  # low values are searched as high values of −v
    values = sign * an.shown(nt, field, getattr(cell, field))
    lo, hi = an.RANGES[field]
    c1, c2, c3, c4 = st.columns(4)
    if c1.radio("Threshold", ["value", "percentile"], key="ex.search_mode") == "value":
        default = (lo + hi) / 2 + sign * (hi - lo) / 4
        thr = sign * c2.slider("On when ≤" if low else "On when ≥", lo, hi, default, 0.01,
                               key=f"ex.search_value.{low}")
    else:
        thr = an.percentile_thresholds(values, c2.slider(
            "Percentile of each unit's own values", 50, 99, 90, key="ex.search_pct"))
    outside = c3.number_input("…and off on this many steps around it", 0, 10, 1,
                              key="ex.search_outside")
    min_len = c4.number_input("Matches at least this long", 1, 50, 1, key="ex.search_min")
    start, stop = span
    if stop <= start:
        st.info("Choose a span of at least one step.")
        return
    units = an.search_units(values, start, stop, thr, int(outside))
    Explorer.search.set({"model": r.model_key, "notation": nt.key, "cell": cell_id,
                         "field": field, "sign": sign, "units": units, "threshold": thr,
                         "min_length": int(min_len)})
    shown_span = r.join(start, stop)
    if not len(units):
        st.warning(md("No unit stays on over steps {:d}–{:d} ({}) and off ", start, stop - 1,
                      repr(shown_span))
                   + "around it. Loosen the threshold, the steps around, or look for low values.")
        return
    spans = an.co_activation_spans(values, units, thr, int(min_len))
    st.success(md("{:d} unit(s) on over {}: ", len(units), repr(shown_span))
               + ", ".join(f"{u:d}" for u in units[:40]) + (" …" if len(units) > 40 else "")
               + f". They are on together in {len(spans):d} place(s) of this input.")
    st.dataframe({"start": [a for a, _ in spans], "stop": [b for _, b in spans],
                  "text": [r.join(a, b) for a, b in spans]}, height=200)
    colour_text(r, cell, nt, field, int(units[0]), "ex.search_text", spans)


def predictions_view(r: Run, names: list[str]) -> None:
    if r.probs is None:
        out_names = [str(j) for j in range(r.head.shape[1])]
        chart(ef.head_lines(r.head, r.tokens, out_names), key="ex.head")
        return
    V = r.probs.shape[1]
    labels = names if len(names) == V else [str(v) for v in range(V)]
    T = len(r.probs)
    step = st.slider("Step", 0, T - 1, T - 1, key=f"ex.pred_step.{T}")
    chart(ef.prediction_heatmap(r.probs, labels, r.tokens,
                                          window=(max(0, step - WINDOW // 2), step + WINDOW // 2)
                                          if T > WINDOW else None, step=step), key="ex.pred")
    ids, p = an.top_k(r.probs[step], 10)
    chart(ef.top_k_bars(ids, p, labels, f"After step {step} ({html_text(repr(r.tokens[step]))}): "
                                  "the 10 likeliest next symbols"), key="ex.topk")
