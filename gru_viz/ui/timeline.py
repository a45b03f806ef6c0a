"""The time component: a recorded run in the browser, moved through without the server.

A Streamlit components-v2 component (inline HTML/JS/CSS, no iframe, no build step, nothing
fetched): ``gru_viz.figures.timeline`` builds its data, ``timeline.js`` draws it. The server
hears of the chosen step only when play pauses or stepping has been idle (state ``t``): the
page keeps it in ``lab.STEP`` and in the link.
"""

from __future__ import annotations

import pathlib

import streamlit as st

from gru_viz.ui import lab

HERE = pathlib.Path(__file__).parent
_component = st.components.v2.component(
    "gruviz_timeline", js=(HERE / "timeline.js").read_text(encoding="utf-8"),
    css=(HERE / "timeline.css").read_text(encoding="utf-8"))


def _heard(key: str) -> None:
    """The browser's step, when it pauses: kept for the link and the other teaching page."""
    t = (st.session_state.get(key) or {}).get("t")
    if isinstance(t, int) and t >= 0:
        st.session_state[lab.STEP] = t


def timeline(payload: dict, key: str) -> None:
    """Mount (or update in place) the time component with ``payload``."""
    _component(key=key, data=payload, default={"t": payload["t0"]},
               on_t_change=lambda: _heard(key))
