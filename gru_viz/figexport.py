"""Figures to files: standalone HTML, and PNG/SVG drawn on the server by kaleido.

Plotly's toolbar saves a PNG in the browser; this covers SVG, scripts and notebooks, and
charts too large to draw comfortably client-side. Kaleido runs the local Chromium; MathJax is
switched off because nothing may be fetched from the network.
"""

from __future__ import annotations

import json

import plotly.io as pio


def figure_html(spec: dict) -> str:
    """A self-contained HTML page of the figure (plotly.js inlined: works offline)."""
    return pio.to_html(spec, full_html=True, include_plotlyjs=True, validate=False)


def figure_image(spec: dict, fmt: str = "png", width: int = 1400, scale: float = 1.0) -> bytes:
    """PNG or SVG bytes of the figure, drawn by kaleido with the local Chromium."""
    import kaleido

    if fmt not in ("png", "svg"):
        raise ValueError(f"Format {fmt!r}: png or svg.")
    fig = json.loads(pio.to_json(spec, validate=False))
    height = fig.get("layout", {}).get("height") or 600
    return kaleido.calc_fig_sync(fig, opts={"format": fmt, "width": width, "height": height,
                                            "scale": scale}, kopts={"mathjax": False})
