"""Home: what a GRU is, its equations in both notations, and where to go next."""

import pathlib

import streamlit as st

from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.figures.diagram import cell_svg
from gru_viz.figures.traces import squash_spec
from gru_viz.teaching.stepmath import equations_block
from gru_viz.ui import chosen_notation, frame
from gru_viz.ui.charts import chart
from gru_viz.ui.page import pages
from gru_viz.ui.timeline import after_paint

frame("Home")
st.title("🔁 gru-viz: see inside a GRU")
st.markdown(
    "A **gated recurrent unit** reads a sequence one step at a time and carries a state "
    "vector from step to step. At each step two gates, numbers between 0 and 1 for each unit, "
    "decide what happens to that memory: the **reset gate** decides how much of the old state "
    "may shape the new **candidate**, and the **update gate** decides, unit by unit, how much "
    "of the old state is kept and how much is overwritten by the candidate. That is all: a "
    "learned, per-unit blend of *remember* and *rewrite*.")

nt = chosen_notation()
course = nt.key == COURSE.key
left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("The equations")
    blocks = {
        COURSE.key: ("**Course notation** (Γu, Γr, c̃, c): Γu is the share of the *new candidate "
                     "written*; the course places the reset gate before the product.",
                     equations_block(COURSE, reset_after=False),
                     "Some course notes write the last line with c̃⟨t−1⟩. The previous *state* "
                     "c⟨t−1⟩ is meant, and that is what gru-viz computes."),
        PYTORCH.key: ("**PyTorch notation** (z, r, n, h), as `torch.nn.GRU` computes it: z is "
                      "the share of the *old state kept*, so z = 1 − Γu, and the reset gate "
                      "acts after the recurrent product.",
                      equations_block(PYTORCH, reset_after=True),
                      "σ is the logistic sigmoid, ⊙ the element-wise product."),
    }
    other = PYTORCH if course else COURSE
    text, tex, note = blocks[nt.key]
    st.markdown(authored(text))
    st.latex(tex)
    st.caption(authored(note) + " Every page follows the notation switch (sidebar); the "
               "teaching pages also let you choose where the reset gate acts.")
    with st.expander(md("The same cell in {} notation", other.name)):
        text, tex, note = blocks[other.key]
        st.markdown(authored(text))
        st.latex(tex)
        st.caption(authored(note))
with right:
    st.subheader("One unit of the cell")
    st.caption("Blue: old state kept. Orange: candidate written. Purple: old state let into "
               "the candidate by the reset gate. Each valve opens with its gate's value.")
# drawn for the notation in force (st.html drops inline SVG; Markdown with HTML keeps it),
# under both columns: at 1280 px wide a column draws its 22-unit text at about 13 px, the
# page's width at about 22 px (a projector needs 16 or more)
svg = cell_svg(nt, reset_after=not course, title=f"{nt.name} notation")
st.markdown(authored(svg.replace("<svg ", '<svg style="max-width:760px;display:block;'
                                 'margin:0 auto" ', 1)), unsafe_allow_html=True)

st.subheader("Where next")
# Every page in pages/, so pages added later are listed too; ours say what they offer.
ABOUT = {"1_Playground": "move every weight, type a sequence, watch the gates",
         "2_Step_through": "one timestep's equations with its numbers, beside the cell"}
for path, name in pages():
    about = ABOUT.get(pathlib.Path(path).stem)
    st.page_link(path, label=f"**{markdown_text(name)}**"
                 + (f": {markdown_text(about)}" if about else ""))

# Plotly's code (4.7 MB) is evaluated on a session's first chart, one ~1.4 s task of the
# browser's main thread that also holds back the rest of the page. A small chart drawn once
# Home is painted has it done while the reader reads, so the teaching pages' first charts
# come at once (DESIGN.md §9).
if after_paint("home.painted"):
    st.caption("σ squashes a gate's sum into (0, 1); tanh squashes the candidate's into "
               "(−1, 1).")
    chart(squash_spec(), key="home.squash")
