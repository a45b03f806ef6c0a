"""The Playground's charts drawn in place (``gru_viz.ui.charts``, ``charts.js``) rest on two
facts about the pinned Streamlit, checked here so that an upgrade fails a fast test rather
than drawing blank charts, or quietly falling back to charts that remount on every change."""

from __future__ import annotations

import pathlib

import streamlit as st

from gru_viz.ui import charts


def test_streamlits_plotly_chunk_is_found_and_sets_window_plotly():
    assert charts.PLOTLY_CHUNK is not None, "no PlotlyChart.*.js: chart_in_place falls back"
    chunk = pathlib.Path(st.__file__).parent / "static" / "static" / "js" / charts.PLOTLY_CHUNK
    assert "window.Plotly=" in chunk.read_text(encoding="utf-8")  # what charts.js reads
