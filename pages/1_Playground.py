"""Playground: set every weight of a small GRU and watch its gates over a typed sequence."""

import streamlit as st

from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures.traces import heatmap_spec, lines_spec
from gru_viz.teaching.stepmath import equations_block
from gru_viz.ui import frame, lab, notation
from gru_viz.ui.charts import chart
from gru_viz.ui.page import persistent, store
from gru_viz.ui.teaching import equations_in_force, preset_card, preset_picker, variant_control
from gru_viz.ui.weights_editor import model_controls, weight_editors

problems = lab.init()
frame("Playground", "🎛️")
# Every control applies its change in its callback, before this run: the page can write the
# plots first, so the browser gets and draws them before the ~40 other elements (and, on a
# first visit, starts loading Plotly earlier). Containers keep the layout's order.
head = st.container()
controls, plots = st.columns([2, 3], gap="large")
state = lab.current()
nt = notation()
with plots:
    intro = st.container()
    # about 16 tick labels: what the narrow column holds legibly
    chart(heatmap_spec(state.cell, nt, state.tokens, max_ticks=16), key="pg.heatmaps")
    H = state.model.hidden_size
    units = st.multiselect("Units to follow", list(range(H)), default=list(range(H)),
                           key=f"pg.units.{H}", format_func=lambda j: f"unit {j}")
    chart(lines_spec(state.cell, nt, units, state.tokens), key="pg.lines")
    st.latex(equations_block(nt, state.model.reset_after))
    st.page_link("pages/2_Step_through.py", label="Step through this run, one equation at a time",
                 icon="👣")
with intro:
    preset_card(state)
    equations_in_force(nt, state.model.reset_after)
with head:
    st.title("🎛️ Playground")
    for p in problems:
        st.warning(markdown_text(p))
    preset_picker()
with st.sidebar:
    variant_control()
    st.divider()
    model_controls()
with controls:
    vocab = st.session_state[lab.VOCAB]
    st.text_input(
        md("Input sequence (symbols from {})", " ".join(vocab)) if vocab else
        "Input sequence: one step per row, rows split by ';', numbers by ','",
        key=persistent(lab.TEXT, ""), on_change=store, args=(lab.TEXT,), max_chars=lab.MAX_TEXT)
    if state.error:
        st.error(md("{} The plots show the last input that worked.", state.error))
    st.subheader("Weights")
    weight_editors(nt)
lab.sync_url()
