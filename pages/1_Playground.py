"""Playground: set every weight of a small GRU and watch its gates over a typed sequence.

The run goes to the browser once: the time bar under the heatmaps moves a cursor over every
chart and shows that step's values there, without a rerun (``gru_viz.ui.timeline``).
"""

import streamlit as st

from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures.timeline import clock_payload
from gru_viz.figures.traces import heatmap_spec, lines_spec, step_labels
from gru_viz.teaching.stepmath import equations_block
from gru_viz.ui import chosen_notation, frame, lab
from gru_viz.ui.charts import chart_in_place
from gru_viz.ui.state import Lab
from gru_viz.ui.teaching import (
    compact_page,
    equations_in_force,
    follow_picker,
    preset_card,
    preset_picker,
    variant_control,
)
from gru_viz.ui.timeline import mount_timeline
from gru_viz.ui.weights_editor import model_controls, weight_editors

problems = lab.init()
frame("Playground", "🎛️")
compact_page()
head = st.container()


@st.fragment
def weights_and_plots() -> None:
    """The input, the weight editors and all that is drawn from the run: a weight slider or
    an edit reruns only this, and the charts take the new numbers in place (``chart_in_place``).

    Every control applies its change in its callback, before this run: the plots are written
    first, so the browser gets and draws them before the editors (and, on a first visit,
    starts loading Plotly earlier). Containers keep the layout's order.
    """
    controls, plots = st.columns([2, 3], gap="medium")
    state = lab.current()
    nt = chosen_notation()
    H = state.model.hidden_size
    with plots:
        # about 12 tick labels (t over the input): what the narrow column holds legibly
        chart_in_place(heatmap_spec(state.cell, nt, state.tokens, max_ticks=12,
                                    input_track=True, height=430 + 24 * max(0, min(H, 8) - 2)),
                       key="pg.heatmaps")
        time_bar = st.container()
        units = follow_picker(H)
        chart_in_place(lines_spec(state.cell, nt, units, state.tokens), key="pg.lines")
        with time_bar:
            mount_timeline(clock_payload(state.cell, nt, step_labels(state.x, state.tokens),
                                         units, Lab.step.get(),
                                         [{"key": "pg.heatmaps", "style": "band"},
                                          {"key": "pg.lines", "style": "line"}]), key="pg.time")
        preset_card(state)
    with controls:
        vocab = Lab.vocab.get()
        st.text_input(
            md("Input sequence (symbols from {})", " ".join(vocab)) if vocab else
            "Input sequence: one step per row, rows split by ';', numbers by ','",
            key=Lab.text.bind(""), on_change=Lab.text.store,
            max_chars=lab.MAX_TEXT)
        if state.error:
            st.error(md("{} The plots show the last input that worked.", state.error))
        weight_editors(nt)
    lab.sync_url()


weights_and_plots()
# What depends on the notation and the reset placement only (both switches rerun the page):
# outside the fragment, under the plots, so a weight change does not send it again (inside,
# a slider took 1.3× as long, interleaved A/B at 2×200).
_, below = st.columns([2, 3], gap="medium")
with below:
    nt, after = chosen_notation(), lab.weights_in_force().reset_after
    equations_in_force(nt, after)
    st.latex(equations_block(nt, after))
    st.page_link("pages/2_Step_through.py",
                 label="Step through this run, one equation at a time", icon="👣")
with head:
    for p in problems:
        st.warning(markdown_text(p))
    title, pick = st.columns([2, 3], vertical_alignment="bottom")
    title.markdown("### 🎛️ Playground")
    with pick:
        preset_picker()
with st.sidebar:
    variant_control()
    st.divider()
    model_controls()
