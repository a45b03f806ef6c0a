"""Drawing our figure specs in Streamlit."""

from __future__ import annotations

import pathlib
from typing import Any

import streamlit as st

from gru_viz.figures.wire import figure_json, json_figure, page_figure
from gru_viz.ui.components import declare

# Streamlit's own Plotly bundle (a hashed file name): charts.js imports it from the server
# when the page has not loaded Plotly yet.
PLOTLY_CHUNK = next((p.name for p in sorted(
    (pathlib.Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))),
    None)
_in_place = declare("gruviz_chart", "charts.js", "charts.css", {"PLOTLY_CHUNK": PLOTLY_CHUNK},
                    isolate_styles=False)  # Plotly's styles live in the page


def chart(spec: Any, key: str, **kwargs) -> None:
    """Draw a spec (dict or ``go.Figure``) from ``gru_viz.figures``: with ``chart_in_place``
    the only way a figure reaches the page (tests/test_untrusted_sinks.py), so its data
    strings are always HTML-escaped; ``figures.wire.page_figure`` says why it is sent as a
    plain dict."""
    st.plotly_chart(page_figure(spec), key=key, **kwargs)


def chart_in_place(spec: dict | str, key: str) -> None:
    """Draw a spec that changes with every weight: the element stays (keyed by ``key``) and
    the browser redraws it in place with Plotly.react (``charts.js``), with no remount and no
    blank frame (st.plotly_chart names its element by a hash of the figure: new numbers mount
    a new chart); a figure the browser holds already is not drawn again. ``spec`` may be its
    ``figure_json`` made earlier (a large chart kept between reruns: its JSON is most of the
    cost). Falls back to st.plotly_chart if this Streamlit has no Plotly bundle to load.

    The figure goes as bytes (UTF-8 JSON): Streamlit sends bytes as they are, where data
    as JSON is encoded twice more and hashed in full (20-30 ms a rerun for an 8 MB chart)."""
    figure = spec if isinstance(spec, str) else figure_json(spec)
    if PLOTLY_CHUNK is None:
        st.plotly_chart(json_figure(figure), key=key)
        return
    _in_place(key=key, data=figure.encode())
