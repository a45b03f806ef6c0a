"""Streamlit glue shared by the pages. The only part of gru_viz that imports streamlit."""

from gru_viz.ui.page import chosen_notation, frame

__all__ = ["chosen_notation", "frame"]
