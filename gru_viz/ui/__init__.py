"""Streamlit glue shared by the pages. The only part of gru_viz that imports streamlit."""

from gru_viz.core.budget import large_blocks_apart
from gru_viz.ui.page import chosen_notation, frame

large_blocks_apart()  # this process serves a class: freed arrays go back to the system

__all__ = ["chosen_notation", "frame"]
