"""Plotly figures and pictures of runs: pure functions, arrays in, figures out."""
