"""Drawing our figure specs in Streamlit without Plotly's per-property validation."""

from __future__ import annotations

import pathlib

import plotly.graph_objects as go
import streamlit as st

from gru_viz.figures.safe import escaped, figure_json

HERE = pathlib.Path(__file__).parent
# Streamlit's own Plotly bundle (a hashed file name): charts.js imports it from the server
# when the page has not loaded Plotly yet.
PLOTLY_CHUNK = next((p.name for p in sorted(
    (pathlib.Path(st.__file__).parent / "static" / "static" / "js").glob("PlotlyChart.*.js"))),
    None)
_in_place = st.components.v2.component(
    "gruviz_chart", js=(HERE / "charts.js").read_text(encoding="utf-8"),
    css=".gvc { width: 100%; }", isolate_styles=False)  # Plotly's styles live in the page


def chart(spec: dict | go.Figure, key: str, **kwargs) -> None:
    """Draw a spec (or Figure) from ``gru_viz.figures``: with ``chart_in_place`` the only way a
    figure reaches the page (tests/test_untrusted_sinks.py), so its data strings are always
    HTML-escaped (``escaped``).

    st.plotly_chart validates a dict property by property, which at teaching sizes costs more
    than the whole rest of a rerun; an unvalidated Figure is passed through as it is. The
    specs are validated in the tests (``gate_heatmaps``/``unit_lines`` build checked Figures).
    """
    st.plotly_chart(go.Figure(escaped(spec), _validate=False), key=key, **kwargs)


def chart_in_place(spec: dict, key: str) -> None:
    """Draw a spec that changes with every weight: the element stays (keyed by ``key``) and
    the browser redraws it in place with Plotly.react (``charts.js``), with no remount and no
    blank frame. Falls back to ``chart`` if this Streamlit has no Plotly bundle to load."""
    if PLOTLY_CHUNK is None:
        return chart(spec, key)
    _in_place(key=key, data={"figure": figure_json(spec),
                             "plotly": PLOTLY_CHUNK})
