"""Plotly renders a subset of HTML (``<span style>``, ``<a href>``, ``<img>``-free but styled
text) in tick labels, hover text, legend names and text marks. Data strings (tokens, symbols,
unit and file names) reach a figure through those keys only; ``escaped`` HTML-escapes every
string there, so a vocabulary symbol is drawn as the characters it is. Our own templates
(titles, hover templates, annotations) are written here and keep their markup.

Every figure leaves the library through ``escaped``: ``gru_viz.figures.wire.page_figure`` for
the app's ``gru_viz.ui.charts.chart``, ``gru_viz.figures.files`` for HTML and images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gru_viz.core.untrusted import html_text

TRACE_TEXT = ("text", "hovertext", "customdata", "x", "y", "labels", "name", "ids",
              "legendgrouptitle", "meta")
AXIS_TEXT = ("ticktext", "categoryarray")


def _text(v: Any, memo: dict[str, str]) -> Any:
    if isinstance(v, str):
        if v not in memo:  # hover labels repeat one token per unit: escape each once
            memo[v] = html_text(v)
        return memo[v]
    if isinstance(v, np.ndarray):
        return _text(v.tolist(), memo) if v.dtype.kind in "OUS" else v
    if isinstance(v, (list, tuple)):
        return [_text(a, memo) for a in v]
    if isinstance(v, dict):
        return {k: _text(a, memo) for k, a in v.items()}
    return v


def escaped(fig: Any) -> dict:
    """The figure (dict spec or ``go.Figure``) as a dict whose data strings are HTML-escaped."""
    spec = fig if isinstance(fig, dict) else fig.to_dict()
    memo: dict[str, str] = {}
    out = dict(spec)
    out["data"] = [{k: (_text(v, memo) if k in TRACE_TEXT else v) for k, v in trace.items()}
                   for trace in spec.get("data", [])]
    layout = dict(spec.get("layout", {}))
    for name, axis in layout.items():
        if isinstance(axis, dict) and name.startswith(("xaxis", "yaxis")):
            layout[name] = {k: (_text(v, memo) if k in AXIS_TEXT else v) for k, v in axis.items()}
    out["layout"] = layout
    if "frames" in spec:
        out["frames"] = [escaped(f) | {k: v for k, v in f.items() if k not in ("data", "layout")}
                         for f in spec["frames"]]
    return out
