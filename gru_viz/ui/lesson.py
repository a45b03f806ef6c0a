"""The lesson page's glue: step navigation kept in the link (?step=<key>), the
predict-then-reveal question, and the step's figure drawn once the student has answered.
The content and every answer come from ``gru_viz.teaching.lesson``."""

from __future__ import annotations

import numpy as np
import streamlit as st

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import memory
from gru_viz.core.untrusted import authored, markdown_text
from gru_viz.figures.dynamics import phase_portrait, retention_heatmap
from gru_viz.figures.traces import heatmap_spec, lines_spec
from gru_viz.teaching import lesson
from gru_viz.ui.charts import chart
from gru_viz.ui.page import chosen_notation
from gru_viz.ui.state import Lesson

SHORT = ("Latch", "Leaky", "Reset", "Counter", "Flip-flop", "Portrait", "Memory")
FIGURE_HEIGHT = 470  # the figure and the question side by side in a 1280×720 view


def _go(index: int) -> None:
    Lesson.step.set(max(0, min(len(lesson.STEPS) - 1, index)))


def _picked() -> None:
    Lesson.step.set(SHORT.index(Lesson.nav.get()))


def _sync_step() -> int:
    """The step from the link when it names a new one, else the session's; written back."""
    linked = st.query_params.get("step")
    if linked is not None and linked != Lesson.url.get():
        Lesson.step.set(lesson.find(linked))
        Lesson.url.set(linked)
    i = Lesson.step.init(0)
    key = lesson.KEYS[i]
    if st.query_params.get("step") != key:
        st.query_params["step"] = key
    Lesson.url.set(key)
    return i


def _figure(step: lesson.Step, r: lesson.Run, nt) -> None:
    tokens = r.labels if r.preset.vocabulary is not None else None
    if step.figure == "heatmaps":
        spec = heatmap_spec(r.cell, nt, tokens, height=FIGURE_HEIGHT, max_ticks=16,
                            input_track=True)
        for note in spec["layout"].get("annotations", []):  # titles that fit the column
            note.setdefault("font", {})["size"] = 15
        chart(spec, key=f"lesson.fig.{step.key}")
    elif step.figure == "lines":
        units = list(range(r.cell.hidden_size))
        spec = lines_spec(r.cell, nt, units, tokens, show_t=True)
        spec["layout"]["height"] = FIGURE_HEIGHT
        chart(spec, key=f"lesson.fig.{step.key}")
    elif step.figure == "portrait":
        w = r.preset.model(r.preset.reset_after).cells[0][0]
        plane = dy.unit_plane(w.hidden_size)
        axis = np.linspace(-1.05, 1.05, 41)
        field = dy.vector_field(w, np.zeros(w.input_size), plane, axis, axis)
        states = [np.vstack([np.zeros((1, w.hidden_size)), r.cell.h])]
        hover = ["start"] + [f"t = {t}, input {s}" for t, s in enumerate(r.labels)]
        fig = phase_portrait(plane, field, lesson.fixed_points_at_zero(r.preset), states,
                             hover, title="One step under input 0; the example's trajectory")
        fig.update_layout(height=FIGURE_HEIGHT + 60)
        chart(fig, key=f"lesson.fig.{step.key}")
    else:  # retention
        fig = retention_heatmap(memory.retention_to_end(r.cell), r.labels, nt, show_t=True)
        fig.update_layout(height=320)
        chart(fig, key=f"lesson.fig.{step.key}")


def lesson_view() -> None:
    nt = chosen_notation()
    i = _sync_step()
    step = lesson.STEPS[i]
    # one screen on a 1280×720 projector: less of Streamlit's empty top margin
    st.markdown("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}</style>",
                unsafe_allow_html=True)
    Lesson.nav.set(SHORT[i])
    st.segmented_control("Step", SHORT, key=Lesson.nav.key, on_change=_picked,
                         label_visibility="collapsed",
                         format_func=lambda s: f"{SHORT.index(s) + 1} {s}")
    head = st.columns([6, 1, 1], vertical_alignment="center")
    head[0].subheader(authored(step.title), anchor=False)
    head[1].button("◀ Back", on_click=_go, args=(i - 1,), disabled=i == 0, width="stretch",
                   key="lesson.prev")
    head[2].button("Next ▶", on_click=_go, args=(i + 1,), disabled=i == len(lesson.STEPS) - 1,
                   width="stretch", key="lesson.next")
    r = step.run()
    if r is None:
        st.warning("This step needs the shipped trained model (assets/flipflop2.pt) and torch "
                   "to read it; neither is available here. Go on with the next step.")
        return
    left, right = st.columns([2, 3], gap="large")
    with left:
        pick = Lesson.pick(step.key, nt.key)
        answered = pick.get() is not None
        if answered:  # folded away, so that the answer fits the screen
            with st.expander("What to do"):
                st.markdown(authored(step.text("todo", nt)))
        else:
            st.markdown(authored(step.text("todo", nt)))
        choice = st.radio(f"**Predict:** {authored(step.text('prompt', nt))}", step.options,
                          index=None, key=pick.key)
        answer = step.answer(nt)
        if choice is None:
            st.caption("Answer first: the plot and the model's numbers appear once you have "
                       "made your prediction.")
        else:
            said = (f"**Right:** {answer.choice}." if choice == answer.choice else
                    f"**Not quite:** {answer.choice}.")
            text = f"{said} **Why, from this model's numbers:** {answer.why}"
            if choice == answer.choice:
                st.success(authored(text), icon="✅")  # the lesson's own text and numbers
            else:
                st.warning(authored(text), icon="🔁")
            st.button("Hide and ask again", key=f"lesson.again.{step.key}",
                      on_click=pick.clear)
        p = r.preset
        if p.key.startswith("trained-") or p.key in ("latch", "leaky", "reset", "counter"):
            st.page_link("pages/1_Playground.py", label="Open this model in the Playground",
                         icon="🎛️", query_params={"p": p.key}, help=markdown_text(p.title))
    with right:
        if choice is None:
            st.info(f"Input of this step: {markdown_text(' '.join(r.labels[:40]))}", icon="⌨️")
        else:
            _figure(step, r, nt)
