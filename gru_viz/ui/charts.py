"""Drawing our figure specs in Streamlit without Plotly's per-property validation."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from gru_viz.figures.safe import escaped


def chart(spec: dict | go.Figure, key: str, **kwargs) -> None:
    """Draw a spec (or Figure) from ``gru_viz.figures``: the only way a figure reaches the page
    (tests/test_untrusted_sinks.py), so its data strings are always HTML-escaped (``escaped``).

    st.plotly_chart validates a dict property by property, which at teaching sizes costs more
    than the whole rest of a rerun; an unvalidated Figure is passed through as it is. The
    specs are validated in the tests (``gate_heatmaps``/``unit_lines`` build checked Figures).
    """
    st.plotly_chart(go.Figure(escaped(spec), _validate=False), key=key, **kwargs)
