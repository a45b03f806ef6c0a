"""The Playground's charts drawn in place load Plotly from Streamlit's own bundle: the file
``gru_viz.ui.charts`` names must be there and set window.Plotly (a Streamlit upgrade that
renames or drops it would leave the charts on the st.plotly_chart fallback)."""

import pathlib

import streamlit as st

from gru_viz.ui import charts


def test_streamlits_plotly_bundle_is_found_and_sets_window_plotly():
    assert charts.PLOTLY_CHUNK is not None
    bundle = pathlib.Path(st.__file__).parent / "static" / "static" / "js" / charts.PLOTLY_CHUNK
    assert "window.Plotly=" in bundle.read_text(encoding="utf-8")
