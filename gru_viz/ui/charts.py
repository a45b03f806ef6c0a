"""Drawing our figure specs in Streamlit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from gru_viz.figures.wire import page_figure


def chart(spec: Any, key: str, **kwargs) -> None:
    """Draw a spec (dict or ``go.Figure``) from ``gru_viz.figures``: the only way a figure
    reaches the page (tests/test_untrusted_sinks.py), so its data strings are always
    HTML-escaped; ``figures.wire.page_figure`` says why it is sent as a plain dict."""
    st.plotly_chart(page_figure(spec), key=key, **kwargs)
