"""Drawing our figure specs in Streamlit without Plotly's per-property validation."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from gru_viz.figures.safe import escaped
from gru_viz.figures.wire import plain


class _Plain(go.Figure):
    """A stand-in for the Figure whose ``to_dict`` is ``data``: st.plotly_chart reads a Figure
    only through ``to_dict``, so the Figure itself is never built (an empty one costs ~1 ms)."""

    def __init__(self, data: dict):
        self._plain = data

    def to_dict(self) -> dict:
        return self._plain


def chart(spec: dict | go.Figure, key: str, **kwargs) -> None:
    """Draw a spec (or Figure) from ``gru_viz.figures``: the only way a figure reaches the page
    (tests/test_untrusted_sinks.py), so its data strings are always HTML-escaped (``escaped``).

    st.plotly_chart validates a dict property by property, and converting a Figure copies it
    and its template (both cost more than the whole rest of a rerun at teaching sizes): the
    spec goes as the plain dict Plotly would send (``plain``). The specs are validated in
    the tests (``gate_heatmaps``/``unit_lines`` build checked Figures).
    """
    st.plotly_chart(_Plain(plain(escaped(spec))), key=key, **kwargs)
