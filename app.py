"""gru-viz home page: what a GRU is and where to start."""

import streamlit as st

from gru_viz.ui import frame, notation

frame("Home")
st.title("gru-viz: see how a GRU decides what to keep")
n = notation()
st.markdown(
    f"A Gated Recurrent Unit reads a sequence one step at a time. At each step its reset gate "
    f"**{n.reset}** decides how much of the previous state feeds the candidate **{n.candidate}**, "
    f"and its update gate **{n.update}** ({n.update_meaning}) blends candidate and old state "
    f"into the new state **{n.state}**."
)
