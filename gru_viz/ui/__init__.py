"""Streamlit glue shared by the pages. The only part of gru_viz that imports streamlit."""

import streamlit as st

from gru_viz.core.budget import large_blocks_apart
from gru_viz.ui import closed_sessions
from gru_viz.ui.page import chosen_notation, frame

if st.runtime.exists():  # a server (streamlit run), not a notebook or a script importing this
    large_blocks_apart()  # this process serves a class: freed arrays go back to the system
    closed_sessions.start()  # a closed tab's session leaves on time, its memory with it

__all__ = ["chosen_notation", "frame"]
