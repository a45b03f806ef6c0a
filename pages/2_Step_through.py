"""Step through: one timestep's equations with its numbers, beside the cell diagram.

The whole run goes to the browser once (``gru_viz.ui.timeline``): previous/next, the step
slider, play and the keyboard move through time there, without a rerun.
"""

import streamlit as st

from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures.traces import step_labels
from gru_viz.ui import chosen_notation, frame, lab
from gru_viz.ui.state import Lab
from gru_viz.ui.teaching import (
    compact_page,
    equations_in_force,
    preset_card,
    preset_picker,
    unit_picker,
    variant_control,
)
from gru_viz.ui.timeline import mount_timeline, stepper

problems = lab.init()
frame("Step through", "👣")
compact_page()
with st.sidebar:
    variant_control()
    st.page_link("pages/1_Playground.py", label="Edit the weights and the input", icon="🎛️")

nt = chosen_notation()
head, pick, who = st.columns([2.6, 3, 2.4], vertical_alignment="bottom")
head.markdown("### 👣 Step through")
with pick:
    preset_picker()
state = lab.current()
H = state.model.hidden_size
with who:
    unit = unit_picker(H)
for p in problems:
    st.warning(markdown_text(p))
if state.error:
    st.error(md("{} Showing the last input that worked; fix it on the Playground.", state.error))
labels = step_labels(state.x, state.tokens)
mount_timeline(stepper(state.weights, state.cell, nt, labels, unit,
                       Lab.step.get()), key="step.time")
st.caption("Keys: ← → step, space play/pause, Home/End first/last step. The link keeps the "
           "step.")
preset_card(state, compact=True)
equations_in_force(nt, state.model.reset_after)
lab.sync_url()
