"""A standalone interactive figure of a trace: one heatmap per gate, per layer and direction.

Colour ranges are fixed by the maths, never autoscaled: gates r, z on [0, 1] (sequential),
candidate n and state h on [-1, 1] (diverging, centred at 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gru_viz.trace import Trace

PANELS = (("z", "update gate z (share of the old state kept)", 0.0, 1.0, "Viridis"),
          ("r", "reset gate r", 0.0, 1.0, "Viridis"),
          ("n", "candidate n", -1.0, 1.0, "RdBu_r"),
          ("h", "state h", -1.0, 1.0, "RdBu_r"))


def trace_figure(trace: Trace, tokens: Sequence[str] | None = None, title: str = "") -> go.Figure:
    """Heatmaps (units × time) of z, r, n, h for every cell; a batch shows its first sequence."""
    cells = trace.cells()
    rows = [(c, p) for c in cells for p in PANELS]
    height = 180 * len(rows) + 120
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True,
                        vertical_spacing=45 / height,  # room for each panel's title
                        subplot_titles=[f"{c.name}: {p[1]}" for c, p in rows])
    T = trace.steps
    labels = [f"{t}:{s}" for t, s in enumerate(tokens)] if tokens is not None else list(range(T))
    for k, (c, (field, _, lo, hi, scale)) in enumerate(rows, start=1):
        a = np.asarray(getattr(c, field))
        a = a[0] if a.ndim == 3 else a  # (T, H)
        fig.add_trace(go.Heatmap(
            z=a.T.astype(np.float32), x=labels, zmin=lo, zmax=hi, colorscale=scale,
            colorbar={"len": 0.3, "y": 0.85 if lo == 0 else 0.35,
                      "title": "gate" if lo == 0 else "n, h"},
            showscale=k in (1, 3),
            hovertemplate=f"{field}: %{{z:.3f}}<br>step %{{x}}<br>unit %{{y}}<extra></extra>"),
            row=k, col=1)
        fig.update_yaxes(title_text="unit", row=k, col=1)
    fig.update_xaxes(type="category", title_text="step: symbol" if tokens else "step",
                     row=len(rows), col=1)
    fig.update_layout(title=title, height=height)
    return fig
