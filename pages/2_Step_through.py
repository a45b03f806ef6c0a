"""Step through: one timestep's equations with its numbers, beside the cell diagram."""

import streamlit as st

from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.figures.diagram import UnitStep, cell_svg
from gru_viz.figures.traces import lines_spec, step_labels
from gru_viz.teaching.stepmath import FULL_MATRICES, equation_tex, explain, from_trace
from gru_viz.ui import frame, lab, notation
from gru_viz.ui.charts import chart
from gru_viz.ui.page import persistent, store
from gru_viz.ui.teaching import equations_in_force, preset_card, preset_picker, variant_control

PLAYING = "step.playing"

problems = lab.init()
frame("Step through", "👣")
with st.sidebar:
    variant_control()
    st.page_link("pages/1_Playground.py", label="Edit the weights and the input", icon="🎛️")

st.title("👣 Step through")
for p in problems:
    st.warning(markdown_text(p))
nt = notation()
preset_picker()
state = lab.current()
if state.error:
    st.error(md("{} Showing the last input that worked; fix it on the Playground.", state.error))
preset_card(state, compact=True)
equations_in_force(nt, state.model.reset_after)
T, H = state.cell.steps, state.model.hidden_size


def _move(delta: int) -> None:
    st.session_state[lab.STEP] = (st.session_state[lab.STEP] + delta) % T


playing = st.session_state.get(PLAYING, False)


@st.fragment(run_every=1.2 if playing else None)
def step_view() -> None:
    """The part that moves; as a fragment, playing re-sends only this, not the whole page."""
    if st.session_state.get(PLAYING) and st.session_state.get("step.ticked"):
        _move(1)
    st.session_state["step.ticked"] = True
    c1, c2, c3, c4 = st.columns([1, 1, 1, 6], vertical_alignment="bottom")
    c1.button("◀ previous", on_click=_move, args=(-1,), width="stretch")
    c2.button("next ▶", on_click=_move, args=(1,), width="stretch")
    c3.toggle("play", key=PLAYING, on_change=lambda: st.rerun(scope="app"))
    labels = step_labels(state.x, state.tokens)
    c4.select_slider("timestep t", options=list(range(T)), key=persistent(lab.STEP, 0),
                     on_change=store, args=(lab.STEP,),
                     format_func=lambda t: f"{t}: {labels[t]}")
    t = st.session_state[lab.STEP]
    math = from_trace(state.weights, state.cell, t, nt)
    full = H <= FULL_MATRICES and state.model.input_size <= FULL_MATRICES
    unit = st.radio("unit to follow", range(H), key="step.unit", horizontal=True,
                    format_func=lambda j: f"unit {j:d}") if H > 1 else 0
    left, right = st.columns([3, 2], gap="large")  # room for whole-matrix equations
    with left:
        st.markdown(md("**Step t = {:d}**, input {}", t, labels[t])
                    + ("" if full else f"; numbers for unit {unit:d}"))
        for eq in math.equations:
            st.latex(equation_tex(eq, None if full else unit))
            st.markdown(authored(explain(eq, unit)))  # our equations' numbers
    with right:
        c = state.cell
        # st.html drops inline SVG in 1.67 (sanitised away); Markdown with HTML keeps it
        # cell_svg escapes every string it draws (html.escape)
        svg = cell_svg(nt, UnitStep(labels[t], float(c.h_prev[t, unit]), float(c.r[t, unit]),
                                    float(c.z[t, unit]), float(c.n[t, unit]),
                                    float(c.h[t, unit])),
                       state.model.reset_after, title=f"unit {unit}, t = {t}")
        st.markdown(authored(svg), unsafe_allow_html=True)
    chart(lines_spec(state.cell, nt, [unit], state.tokens, step=t), key="step.lines")
    lab.sync_url()


step_view()
