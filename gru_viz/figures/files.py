"""Figures to files: standalone HTML, and PNG/SVG drawn on the server by kaleido.

Plotly's toolbar saves a PNG in the browser; this covers SVG, scripts and notebooks, and
charts too large to draw comfortably client-side. Kaleido runs the local Chromium; MathJax is
switched off because nothing may be fetched from the network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import plotly.io as pio

from gru_viz.core.notation import Notation
from gru_viz.core.trace import Trace
from gru_viz.core.untrusted import html_text
from gru_viz.figures.safe import escaped
from gru_viz.figures.traces import heatmap_spec


def figure_html(spec: dict) -> str:
    """A self-contained HTML page of the figure (plotly.js inlined: works offline)."""
    return pio.to_html(escaped(spec), full_html=True, include_plotlyjs=True, validate=False)


def figure_image(spec: dict, fmt: str = "png", width: int = 1400, scale: float = 1.0) -> bytes:
    """PNG or SVG bytes of the figure, drawn by kaleido with the local Chromium."""
    import kaleido

    if fmt not in ("png", "svg"):
        raise ValueError(f"Format {fmt!r}: png or svg.")
    fig = json.loads(pio.to_json(escaped(spec), validate=False))
    height = fig.get("layout", {}).get("height") or 600
    return kaleido.calc_fig_sync(fig, opts={"format": fmt, "width": width, "height": height,
                                            "scale": scale}, kopts={"mathjax": False})


def trace_html(trace: Trace, notation: Notation, tokens: Sequence[str] | None = None,
               title: str = "") -> str:
    """A self-contained HTML page with the app's gate heatmaps of every layer and direction
    (a single sequence: for a batch, run one sequence)."""
    parts = [f"<h2>{html_text(title)}</h2>"] if title else []
    for k, cell in enumerate(trace.cells()):
        spec = heatmap_spec(cell, notation, tokens)
        spec["layout"]["title"] = {"text": html_text(cell.name)}
        parts.append(pio.to_html(escaped(spec), full_html=False, include_plotlyjs=k == 0,
                                 validate=False))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{html_text(title or 'gru-viz trace')}</title></head><body>"
            + "".join(parts) + "</body></html>")
