"""Drawing our figure specs in Streamlit without Plotly's per-property validation."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st


def chart(spec: dict, key: str) -> None:
    """Draw a spec from ``gru_viz.figures``.

    st.plotly_chart validates a dict property by property, which at teaching sizes costs more
    than the whole rest of a rerun; an unvalidated Figure is passed through as it is. The
    specs are validated in the tests (``gate_heatmaps``/``unit_lines`` build checked Figures).
    """
    st.plotly_chart(go.Figure(spec, _validate=False), key=key)
