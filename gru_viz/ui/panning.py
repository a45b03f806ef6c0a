"""The window bar: a full-resolution window moved over a long run in the browser.

A Streamlit components-v2 component (inline, no iframe, no build step, nothing fetched):
``panning.js`` moves a chart's x range over the span of steps the server sent
(``gru_viz.figures.explorer.browser_span``) without a rerun. The server hears of the window
when it leaves that span (a new span is sent) or once moving has been idle; it keeps the
window's first step in the session and in the link (``?win=``).
"""

from __future__ import annotations

import streamlit as st

from gru_viz.ui.components import declare
from gru_viz.ui.state import Explorer, Slot

LINK = "win"  # the link's parameter: the window's first step
_component = declare("gruviz_window", "panning.js", "panning.css")


def window_start(T: int, size: int) -> int:
    """The window's first step: the session's, or the link's when the link changed (opened,
    or edited by hand); within [0, T − size]."""
    linked = st.query_params.get(LINK)
    if linked != Explorer.window_url.get():
        Explorer.window_url.set(linked)
        if linked and linked.isascii() and linked.isdigit() and len(linked) < 10:
            Explorer.window_start.set(int(linked))
    return min(max(0, int(Explorer.window_start.get())), max(0, T - size))


def _heard(key: str) -> None:
    """The browser's window, when it left the span or stopped moving: kept for the link and
    the next chart."""
    start = (Slot[dict | None](key, None).get() or {}).get("start")
    if isinstance(start, int) and start >= 0:
        Explorer.window_start.set(start)
        st.query_params[LINK] = str(start)
        Explorer.window_url.set(str(start))


def pan_bar(T: int, size: int, span: tuple[int, int], start: int, chart_key: str,
            key: str) -> None:
    """Mount (or update in place) the bar that moves the window [start, start + size) of the
    chart keyed ``chart_key`` over the steps ``span`` it holds."""
    data = {"T": T, "size": size, "span": list(span), "start": start, "chart": chart_key}
    _component(key=key, data=data, default={"start": start}, on_start_change=lambda: _heard(key))
