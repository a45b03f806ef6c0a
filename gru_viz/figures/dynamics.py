"""Plotly figures of dynamics, memory, gradients and ablation: pure functions, arrays in.

Same vocabulary as ``gru_viz.figures``: shares in [0, 1] on the sequential gate scale, states
and changes on the diverging scale fixed to [−1, 1]; time on x with the tokens as tick labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.dynamics import Field, Plane, Point
from gru_viz.analysis.portrait import point_kind
from gru_viz.core.notation import Notation, grouped
from gru_viz.figures.traces import (
    FONT,
    GATE_SCALE,
    TICKS,
    UNIT_COLOURS,
    VALUE_SCALE,
    t_marks,
    ticks,
)

KIND_STYLE = {  # Okabe–Ito colours; the symbol also differs, for greyscale and colour blindness
    "stable": ("#009E73", "circle"),
    "saddle": ("#E69F00", "x"),
    "unstable": ("#D55E00", "circle-open"),
    "marginal": ("#CC79A7", "diamond"),
    "slow": ("#56B4E9", "square-open"),
}
SPEED_SCALE = [[0.0, "#ffffff"], [1.0, "#c8c8c8"]]  # slow = white, fast = light grey
MARGIN = {"l": 70, "r": 20, "t": 60, "b": 60}


def _time_axis(labels: Sequence[str]) -> dict:
    """The x axis of a figure over the input's steps, about 20 of them labelled."""
    return {"title": {"text": "time step t (input)"}, **TICKS,
            **ticks(list(labels), np.arange(len(labels)), 20)}


def _arrows(field: Field, per_axis: int) -> list[go.Scatter]:
    """Equal-length arrows (direction of F(h) − h) on about per_axis² grid points."""
    ka = max(1, round(len(field.a) / per_axis))
    kb = max(1, round(len(field.b) / per_axis))
    a, b = field.a[ka // 2::ka], field.b[kb // 2::kb]
    du, dv = field.du[kb // 2::kb, ka // 2::ka], field.dv[kb // 2::kb, ka // 2::ka]
    A, B = np.meshgrid(a, b)
    norm = np.hypot(du, dv)
    ok = norm > 1e-12
    L = 0.35 * min(np.ptp(a) / max(len(a) - 1, 1), np.ptp(b) / max(len(b) - 1, 1))
    safe = np.where(ok, norm, 1)
    ux, uy = du / safe, dv / safe
    x0, y0 = A[ok] - L * ux[ok], B[ok] - L * uy[ok]
    x1, y1 = A[ok] + L * ux[ok], B[ok] + L * uy[ok]
    nan = np.full_like(x0, np.nan)
    shaft = go.Scatter(x=np.stack([x0, x1, nan], 1).ravel(), y=np.stack([y0, y1, nan], 1).ravel(),
                       mode="lines", line={"color": "#5b5b5b", "width": 1.5},
                       hoverinfo="skip", showlegend=False)
    head = go.Scatter(x=x1, y=y1, mode="markers", hoverinfo="skip", showlegend=False,
                      marker={"symbol": "triangle-up", "size": 7, "color": "#5b5b5b",
                              "angle": np.degrees(np.arctan2(ux[ok], uy[ok]))})
    return [shaft, head]


def phase_portrait(plane: Plane, field: Field | None, points: Sequence[Point],
                   trajectories: Sequence[np.ndarray] = (), labels: Sequence[str] | None = None,
                   nullclines: bool = True, title: str = "", extent: float | None = 1.05,
                   arrows: int = 17) -> go.Figure:
    """The flow of one step in a plane: speed in the background, direction arrows, the two
    nullclines (where one coordinate stops changing), fixed/slow points by stability, and
    trajectories (states (T, H)) on top; ``labels`` are the first trajectory's hover texts."""
    fig = go.Figure()
    if field is not None:
        fig.add_heatmap(x=field.a, y=field.b, z=np.log10(np.maximum(field.speed, 1e-6)),
                        colorscale=SPEED_SCALE, zmin=-3, zmax=0, name="speed",
                        colorbar={"title": {"text": "log₁₀ ‖F(h) − h‖"}, "len": 0.5, "y": 0.25},
                        hovertemplate="(%{x:.2f}, %{y:.2f})<br>log₁₀ speed %{z:.2f}<extra></extra>")
        for trace in _arrows(field, arrows):
            fig.add_trace(trace)
        if nullclines:
            for comp, name, colour in ((field.du, plane.labels[0], "#0072B2"),
                                       (field.dv, plane.labels[1], "#CC79A7")):
                fig.add_contour(x=field.a, y=field.b, z=comp, showscale=False,
                                contours={"start": 0, "end": 0, "size": 1, "coloring": "lines"},
                                colorscale=[[0, colour], [1, colour]],  # lines take this colour
                                line={"width": 3}, hoverinfo="skip",
                                name=f"nullcline: {name} stops changing", showlegend=True)
    for k, states in enumerate(trajectories):
        c = plane.coords(np.asarray(states))
        first = k == 0
        text = list(labels) if first and labels is not None else None
        fig.add_scatter(
            x=c[:, 0], y=c[:, 1], mode="lines+markers" if first else "lines",
            name="trajectory of the input" if first else "other sequences",
            legendgroup="traj" if first else "others", showlegend=k <= 1,
            line={"color": "#000000" if first else "rgba(90,90,90,0.4)",
                  "width": 2.5 if first else 1},
            marker={"size": 7, "color": "#000000"}, customdata=text,
            hovertemplate=("%{customdata}<br>" if text else "")
            + "(%{x:.3f}, %{y:.3f})<extra></extra>")
        if first and len(c):
            fig.add_scatter(x=c[:1, 0], y=c[:1, 1], mode="markers", name="start",
                            marker={"symbol": "star", "size": 16, "color": "#000000"},
                            hoverinfo="skip")
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(point_kind(p), []).append(p)
    for kind, pts in groups.items():
        colour, symbol = KIND_STYLE[kind]
        c = plane.coords(np.array([p.h for p in pts]))
        fig.add_scatter(
            x=c[:, 0], y=c[:, 1], mode="markers", name=f"{kind} ({len(pts)})",
            marker={"color": colour, "symbol": symbol, "size": 16,
                    "line": {"width": 3, "color": colour}},
            customdata=[[p.slowest, p.q] for p in pts],
            hovertemplate=f"{kind}<br>(%{{x:.3f}}, %{{y:.3f}})<br>max |λ| = %{{customdata[0]:.3f}}"
                          "<br>q = %{customdata[1]:.1e}<extra></extra>")
    axis = {"range": [-extent, extent]} if extent else {}
    fig.update_layout(
        title={"text": title}, font=FONT, height=640, margin=MARGIN,
        xaxis={"title": {"text": plane.labels[0]}, **axis, "constrain": "domain"},
        yaxis={"title": {"text": plane.labels[1]}, **axis, "scaleanchor": "x"},
        legend={"orientation": "h", "y": -0.15, "font": {"size": 15}})
    return fig


def pitchfork_figure(k: float, roots: Sequence[Point], notation: Notation) -> go.Figure:
    """One unit with the reset gate open: n(h) = tanh(k·h) against the diagonal n = h."""
    n, c = notation.candidate, notation.state
    h = np.linspace(-1.2, 1.2, 241)
    fig = go.Figure()
    fig.add_scatter(x=h, y=np.tanh(k * h), name=f"{n} = tanh({k:g}·{c})",
                    line={"color": UNIT_COLOURS[0], "width": 3})
    fig.add_scatter(x=h, y=h, name=f"{n} = {c}", line={"color": "#7f7f7f", "dash": "dash"})
    for p in roots:
        colour, symbol = KIND_STYLE[p.kind]
        fig.add_scatter(x=[p.h[0]], y=[p.h[0]], mode="markers",
                        name=f"{p.kind} {c} = {p.h[0]:.3f}",
                        marker={"color": colour, "symbol": symbol, "size": 16,
                                "line": {"width": 3, "color": colour}})
    fig.update_layout(font=FONT, height=420, margin=MARGIN,
                      xaxis={"title": {"text": f"state {c}"}, "range": [-1.2, 1.2]},
                      yaxis={"title": {"text": f"candidate {n}"}, "range": [-1.2, 1.2]},
                      legend={"font": {"size": 14}})
    return fig


def _heatmap(z: np.ndarray, labels: Sequence[str], *, scale, zmin: float, zmax: float,
             title: str, colorbar: str, name: str, y=None, ytitle: str = "unit",
             height: int | None = None, show_t: bool = False) -> go.Figure:
    """z (rows, T) over time, rows on y (units by default, top first); ``show_t``: the step
    number t under each tick's input."""
    rows = z.shape[0]
    y = list(range(rows)) if y is None else list(y)
    fig = go.Figure(go.Heatmap(
        z=np.asarray(z, dtype=np.float32), x=list(range(z.shape[1])), y=y, colorscale=scale,
        zmin=zmin, zmax=zmax, colorbar={"title": {"text": colorbar}},
        customdata=np.broadcast_to(np.array(labels, dtype=object), z.shape).tolist(),
        hovertemplate=f"t = %{{x:d}}<br>input: %{{customdata}}<br>{ytitle} %{{y}}<br>{name} = "
                      "%{z:.3g}<extra></extra>"))
    fig.update_layout(
        title={"text": title}, font=FONT, margin=MARGIN | {"b": MARGIN["b"] + 40 * show_t},
        height=height or max(300, 130 + 26 * min(rows, 24)),
        # with t marked under the inputs, the title moves below the marks
        xaxis=_time_axis(labels) | ({"title": {"text": "input x⟨t⟩, then t", "standoff": 48}}
                                    if show_t else {}),
        yaxis={"title": {"text": ytitle}, "autorange": "reversed", **TICKS,
               **({"tickvals": y} if rows <= 16 else {})})
    if show_t:
        fig.update_layout(annotations=t_marks(fig.layout.xaxis.tickvals))
    return fig


def retention_heatmap(retention: np.ndarray, labels: Sequence[str],
                      notation: Notation, show_t: bool = False) -> go.Figure:
    """(T, H) share of each step's state still there at the end: ∏ z over the later steps."""
    keep = grouped(notation.kept())
    return _heatmap(retention.T, labels, scale=GATE_SCALE, zmin=0, zmax=1,
                    title=f"Retention: share of {notation.state}⟨t⟩ kept to the end of the "
                          f"sequence<br>(∏ {keep} over the later steps)",
                    colorbar="kept", name="kept to the end", show_t=show_t)


def split_heatmaps(kept: np.ndarray, written: np.ndarray, labels: Sequence[str],
                   notation: Notation) -> tuple[go.Figure, go.Figure]:
    """The kept part z ⊙ h_prev and the change written (1 − z) ⊙ (n − h_prev), each (T, H)."""
    c, keep, write = notation.state, grouped(notation.kept()), grouped(notation.written())
    a = _heatmap(kept.T, labels, scale=VALUE_SCALE, zmin=-1, zmax=1, colorbar="value",
                 title=f"Kept: {keep} ⊙ {c}⟨t−1⟩, the part of the old state that stays",
                 name="kept")
    b = _heatmap(written.T, labels, scale=VALUE_SCALE, zmin=-1, zmax=1, colorbar="change",
                 title=f"Written: {write} ⊙ ({notation.candidate}⟨t⟩ − {c}⟨t−1⟩), the change of "
                       "the state (up to ±2; colours saturate at ±1)", name="written")
    return a, b


def retention_matrix_figure(M: np.ndarray, labels: Sequence[str], unit: int,
                            notation: Notation) -> go.Figure:
    """(T, T): how much of h_t (row) is left at step u (column), for one unit."""
    c = notation.state
    return _heatmap(M, labels, scale=GATE_SCALE, zmin=0, zmax=1, colorbar="kept",
                    title=f"Unit {unit}: share of {c}⟨t⟩ (row t) still there at step u (column)",
                    name="kept", ytitle="from step t", height=520)


def gradient_heatmap(rows: Sequence[np.ndarray], names: Sequence[str], labels: Sequence[str],
                     title: str) -> go.Figure:
    """Gradient norms (one row per model or layer, over input steps) on a log scale spanning
    six decades below the largest value, so that vanishing shows as fading to dark."""
    z = np.log10(np.maximum(np.stack(rows), 1e-300))
    top = math.ceil(float(np.max(z[np.isfinite(z)], initial=0.0)))
    fig = _heatmap(np.where(z < -300, np.nan, z), labels, scale=GATE_SCALE, zmin=top - 6,
                   zmax=top, title=title, colorbar="log₁₀ ‖∂y/∂·‖", name="log₁₀ norm", y=names,
                   ytitle="", height=max(300, 130 + 60 * len(rows)))
    fig.update_yaxes(tickvals=None)
    return fig


def gradient_lines(rows: Sequence[np.ndarray], names: Sequence[str], labels: Sequence[str],
                   title: str) -> go.Figure:
    """The same norms as lines on a log axis: how fast each model forgets."""
    fig = go.Figure()
    for k, (r, name) in enumerate(zip(rows, names)):
        t = np.flatnonzero(r > 0)
        fig.add_scatter(x=t, y=r[t], name=name, mode="lines+markers",
                        line={"color": UNIT_COLOURS[k % len(UNIT_COLOURS)], "width": 3},
                        customdata=[labels[i] for i in t],
                        hovertemplate=f"{name}<br>t = %{{x:d}}<br>input: %{{customdata}}<br>"
                                      "‖∂y/∂x_t‖ = %{y:.2e}<extra></extra>")
    fig.update_layout(title={"text": title}, font=FONT, height=420, margin=MARGIN,
                      xaxis=_time_axis(labels),
                      yaxis={"title": {"text": "gradient norm"}, "type": "log",
                             "exponentformat": "power"},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def ablation_figures(d_state: np.ndarray, base_unit: np.ndarray, clamped_unit: np.ndarray,
                     labels: Sequence[str], unit: int, from_step: int, state: str
                     ) -> tuple[go.Figure, go.Figure]:
    """The change of every unit's state (T, H), and the clamped unit's state before and after."""
    heat = _heatmap(d_state.T, labels, scale=VALUE_SCALE, zmin=-2, zmax=2, colorbar="change",
                    title=f"Clamped − original state {state} (every unit of the layer; "
                          "a change of a state in [−1, 1] lies in [−2, 2])",
                    name="Δ")
    line = go.Figure()
    t = np.arange(len(labels))
    for y, name, dash in ((base_unit, "original", "solid"), (clamped_unit, "clamped", "dash")):
        line.add_scatter(x=t, y=y, name=name, mode="lines+markers",
                         line={"width": 3, "dash": dash,
                               "color": UNIT_COLOURS[0] if name == "original" else
                               UNIT_COLOURS[3]})
    line.add_vline(x=from_step - 0.5, line={"dash": "dot", "color": "grey"},
                   annotation_text="clamp starts")
    line.update_layout(title={"text": f"Unit {unit}: state {state} with and without the clamp"},
                       font=FONT, height=380, margin=MARGIN,
                       xaxis=_time_axis(labels),
                       yaxis={"range": [-1.05, 1.05], "title": {"text": state}})
    return heat, line


def prediction_change(base: np.ndarray, clamped: np.ndarray, labels: Sequence[str],
                      symbols: Sequence[str], what: str = "probability") -> go.Figure:
    """Δ of the head's softmax, or of its raw outputs (T, V): what the clamp changed."""
    return _heatmap((clamped - base).T, labels, scale=VALUE_SCALE, zmin=-1, zmax=1,
                    colorbar=f"Δ {what}", title=f"Change of the head's {what} (clamped − original"
                    + (", colours saturate at ±1)" if what != "probability" else ")"),
                    name="Δ", y=list(symbols), ytitle="output")
