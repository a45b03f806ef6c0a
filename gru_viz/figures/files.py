"""Figures to files: standalone HTML, and PNG/SVG drawn on the server by kaleido.

Plotly's toolbar saves a PNG in the browser; this covers SVG, scripts and notebooks, and
charts too large to draw comfortably client-side. Kaleido runs the local Chromium; MathJax is
switched off because nothing may be fetched from the network.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import plotly.io as pio

from gru_viz.core import budget
from gru_viz.core.errors import InputError
from gru_viz.core.notation import Notation
from gru_viz.core.trace import Trace
from gru_viz.core.untrusted import html_text
from gru_viz.figures.safe import escaped
from gru_viz.figures.traces import heatmap_spec


def figure_html(spec: dict) -> str:
    """A self-contained HTML page of the figure (plotly.js inlined: works offline)."""
    return pio.to_html(escaped(spec), full_html=True, include_plotlyjs=True, validate=False)


MAX_IMAGE_CELLS = 2_000_000  # heatmap cells and points a server-drawn image may hold


def figure_cells(spec: dict) -> int:
    """Heatmap cells and plotted points of a figure: what kaleido's drawing time grows with."""
    total = 0
    for trace in (spec if isinstance(spec, dict) else spec.to_dict()).get("data", []):
        v = trace.get("z") if trace.get("z") is not None else trace.get("x")
        if v is not None and not isinstance(v, (str, dict)):
            total += int(v.size) if isinstance(v, np.ndarray) else int(np.size(v))
    return total


def figure_image(spec: dict, fmt: str = "png", width: int = 1400, scale: float = 1.0,
                 max_cells: int = MAX_IMAGE_CELLS) -> bytes:
    """PNG or SVG bytes of the figure, drawn by kaleido with the local Chromium: one at a time
    per slot of ``budget.heavy`` (each drawing holds a Chromium, ~1 GB), refused above
    ``max_cells`` before any drawing."""
    import kaleido

    if fmt not in ("png", "svg"):
        raise ValueError(f"Format {fmt!r}: png or svg.")
    cells = figure_cells(spec)
    if cells > max_cells:
        raise InputError(f"This figure holds {cells:,} cells or points; the server draws "
                         f"images of at most {max_cells:,}. Draw a window, or use the chart "
                         "toolbar's camera button (drawn by your browser).")
    if not 1 <= width <= 4000 or not 0.1 <= scale <= 4:
        raise InputError("Width 1–4000 pixels and scale 0.1–4, please.")
    fig = json.loads(pio.to_json(escaped(spec), validate=False))
    height = fig.get("layout", {}).get("height") or 600
    with budget.heavy():
        return kaleido.calc_fig_sync(fig, opts={"format": fmt, "width": width,
                                                "height": min(height, 8000), "scale": scale},
                                     kopts={"mathjax": False})


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
