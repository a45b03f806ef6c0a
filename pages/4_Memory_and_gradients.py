"""Memory and gradients: how long each unit remembers, what an output depends on, and what
happens when a gate is forced."""

import numpy as np
import streamlit as st

from gru_viz.analysis import ablation as ab
from gru_viz.analysis import gradients as gr
from gru_viz.analysis import memory
from gru_viz.core import budget
from gru_viz.core.engine import run
from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures.dynamics import (
    ablation_figures,
    gradient_heatmap,
    gradient_lines,
    prediction_change,
    retention_heatmap,
    retention_matrix_figure,
    split_heatmaps,
)
from gru_viz.figures.traces import step_labels
from gru_viz.ui import chosen_notation, frame
from gru_viz.ui.charts import chart
from gru_viz.ui.explorer_input import input_key
from gru_viz.ui.state import Memory, Study
from gru_viz.ui.subjects import Subject, picker, typed_input

VIEWS = ("Memory", "Gradients through time", "Ablation")
STUDY = Study("mg")


@st.cache_data(max_entries=16, ttl=budget.IDLE_SECONDS, show_spinner="Computing gradients…")
def comparison(key: str, x_key: str, target: gr.Target, _subject: Subject, _x: np.ndarray):
    """``x_key`` is an exact hash of ``_x`` (its rounded step labels are not). Heavy: waits
    for one of the process's slots (gru_viz.core.budget)."""
    with budget.heavy():
        return gr.compare(_subject.model, _x, target, head=_subject.head, timing=False,
                          weight_scale=_subject.weight_scale)


@st.cache_data(max_entries=16, ttl=budget.IDLE_SECONDS,
               show_spinner="Timing each model (oneDNN's first run compiles its kernel: a few "
                            "seconds)…")
def timings(key: str, _subject: Subject) -> list[tuple[str, int, float, float]]:
    out = gr.compare(_subject.model, np.zeros((1, _subject.model.input_size)), gr.Target(0, 0),
                     weight_scale=_subject.weight_scale)
    return [(c.kind, c.parameters, c.seconds_per_step, c.seconds_per_step_plain) for c in out]


def symbol_names(subject: Subject) -> list[str]:
    """The head's output symbols: the vocabulary when it matches, else their indices."""
    V = len(subject.head[0])
    vocab = subject.vocabulary
    return list(vocab.symbols) if vocab is not None and len(vocab) == V else \
        [str(v) for v in range(V)]


def memory_view(cell, labels: list[str], nt) -> None:
    keep = nt.kept()
    st.markdown(
        md("Each step keeps the share {k} of the old state {s}⟨t−1⟩ and writes the rest from "
           "the candidate {c}. What a unit held at step t survives to step u as the product of "
           "{k} over the steps in between; its half-life is the number of steps ",
           k=keep, s=nt.state, c=nt.candidate)
        + "until that product falls to ½.")
    chart(retention_heatmap(memory.retention_to_end(cell), labels, nt), key="mg.ret")
    s = memory.split(cell)
    kept, written = split_heatmaps(s.kept, s.written, labels, nt)
    chart(kept, key="mg.kept")
    chart(written, key="mg.written")
    st.markdown(f"**Units** (click a column title to sort). The typical half-life assumes "
                f"{markdown_text(keep)} stayed at its geometric mean over this input.")
    table = memory.unit_table(cell, nt)
    st.dataframe({k: np.round(v, 4) for k, v in table.items()}, hide_index=True,
                 key="mg.table")
    unit = st.selectbox("Unit for the step-by-step retention", range(cell.hidden_size),
                        key="mg.mem_unit")
    T, most = cell.steps, memory.MATRIX_STEPS
    start = 0 if most >= T else st.slider(
        f"Window start (the matrix grows as T²: {most:d} steps at once)", 0, T - most, T - most,
        key=f"mg.mat_start.{T}")
    stop = min(T, start + most)
    shown = labels if most >= T else [f"{t}: {labels[t]}" for t in range(start, stop)]
    chart(retention_matrix_figure(memory.retention_matrix(cell, unit, (start, stop)), shown,
                                  unit, nt), key="mg.matrix")


def gradients_view(subject: Subject, x: np.ndarray, labels: list[str]) -> None:
    model, T = subject.model, len(x)
    c = st.columns(3)
    step = c[0].slider("Output at step t", 0, T - 1, T - 1, key="mg.g_step")
    kinds = ["a unit of the output h"] + (["an output of the head"] if subject.head else [])
    what = c[1].radio("Output y", kinds, key="mg.g_what")
    if what == kinds[0]:
        unit = c[2].number_input("unit", 0, model.num_directions * model.hidden_size - 1, 0,
                                 key="mg.g_unit")
        target = gr.Target(step, unit=int(unit))
    else:
        V = len(subject.head[0])
        symbols = symbol_names(subject)
        sym = c[2].selectbox("head output (symbol)" if subject.vocabulary else "head output",
                             range(V), format_func=lambda v: repr(symbols[v]),
                             key="mg.g_sym")
        target = gr.Target(step, symbol=int(sym))
    try:
        out = comparison(subject.key, input_key(x, None), target, subject, x)
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        return
    names = [f"{c.kind} ({c.parameters:,} parameters)" for c in out]
    title = f"‖∂y/∂x_s‖ for y = {target.describe()}"
    chart(gradient_heatmap([c.inputs for c in out], names, labels, title),
                    key="mg.g_heat")
    chart(gradient_lines([c.inputs for c in out], [c.kind for c in out], labels,
                                   title + " (log axis)"), key="mg.g_lines")
    gru = out[0]
    cells = [f"layer {k}{' reverse' if d else ''}" for k in range(model.num_layers)
             for d in range(model.num_directions)]
    chart(gradient_heatmap(list(gru.states), cells, labels,
                                     "GRU: ‖∂y/∂h_s‖, gradient w.r.t. each earlier state"),
                    key="mg.g_states")
    st.markdown(
        "The GRU uses this model's weights; the vanilla RNN (tanh) and the LSTM have the same "
        "input size, hidden size and layers with PyTorch's default random weights"
        + (f" × {subject.weight_scale:g}, like this GRU's" if subject.weight_scale != 1 else "")
        + ", read out the same way.")
    if not st.toggle("Measure the time per step of each", key="mg.g_time"):
        return
    rows = timings(subject.key, subject)
    st.dataframe({
        "model": [r[0] for r in rows],
        "parameters": [r[1] for r in rows],
        "µs per step": [round(r[2] * 1e6, 1) for r in rows],
        "µs per step, oneDNN off": [round(r[3] * 1e6, 1) for r in rows],
    }, hide_index=True, key="mg.g_table")
    st.caption("`torch.nn` modules in float32 on one thread of this server's CPU, best of 7 runs "
               "of 200 steps, measured now (a busy server shows in the numbers). "
               "With oneDNN on (torch's default), the LSTM runs through a fused oneDNN kernel "
               "and the GRU does not, so the LSTM can be faster per step despite its 4 gates "
               "to the GRU's 3; with oneDNN off all three use ATen's kernels.")


def ablation_view(subject: Subject, x: np.ndarray, labels: list[str], layer: int,
                  direction: int, nt) -> None:
    model = subject.model
    c = st.columns(4)
    unit = c[0].selectbox("Unit", range(model.hidden_size), key="mg.a_unit")
    gates = {"z": nt.label("z"), "r": nt.label("r")}
    gate = c[1].radio("Gate", list(gates), format_func=gates.get, key="mg.a_gate")
    course_update = gate == "z" and nt.key == "course"
    shown = c[2].slider(md("held at {} =", nt.symbol(gate)), 0.0, 1.0,
                        0.0 if course_update else 1.0 if gate == "z" else 0.0, 0.05,
                        key=f"mg.a_value.{gate}.{nt.key}")
    value = float(nt.values(gate, np.float64(shown)))  # the course shows Γu = 1 − z
    bidirectional = model.bidirectional
    start = 0 if bidirectional else c[3].slider("from step", 0, len(x) - 1, len(x) // 3,
                                                key="mg.a_from")
    if bidirectional:
        c[3].caption("Bidirectional: the clamp holds at every step.")
    clamp = ab.Clamp(layer, unit, gate, value, from_step=start, direction=direction)
    try:
        result = ab.ablate(model, x, clamp)
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        return
    meaning = {("z", 1.0): "never write: the unit keeps its state",
               ("z", 0.0): "always overwrite with the candidate",
               ("r", 0.0): "the candidate ignores the past state",
               ("r", 1.0): "the past state fully feeds the candidate"}.get((gate, value), "")
    where = clamp.describe().split(" for ", 1)[1]  # in the notation shown: Γu, not z
    st.markdown(md("**Clamp:** {} = {:g} for {}", nt.symbol(gate), shown, where)
                + (f": {markdown_text(meaning)}." if meaning else "."))
    heat, line = ablation_figures(
        result.d_state(layer, direction), result.base.layers[layer][direction].h[:, unit],
        result.clamped.layers[layer][direction].h[:, unit], labels, unit, start, nt.state)
    chart(line, key="mg.a_line")
    chart(heat, key="mg.a_heat")
    if model.num_layers > layer + 1:
        st.caption(f"Changes reach the layers above too: the largest change of the output "
                   f"is {np.abs(result.d_output).max():.3f}.")
    if subject.head is not None:
        symbols = [repr(s)[1:-1] for s in symbol_names(subject)]
        # a classifier over the symbols: softmaxes; else (e.g. the flip-flop's held signs) outputs
        change = ab.head_change(result, subject.head, classifier=subject.vocabulary is not None)
        what, said = (("probability", f"The top prediction changes at {change.changed} of "
                                      f"{len(x)} steps.") if change.classifier else
                      ("output", f"{change.changed} output values change sign."))
        chart(prediction_change(change.base, change.clamped, labels, symbols, what),
              key="mg.a_pred")
        st.caption(markdown_text(said))


frame("Memory and gradients", "🧠")
st.title("Memory, gradients through time, ablation")
nt = chosen_notation()
subject = picker(STUDY)
parsed = typed_input(STUDY, subject) if subject is not None else None
if parsed is not None:
    x, tokens = parsed
    labels = step_labels(x, tokens)
    model = subject.model
    st.caption(markdown_text(subject.summary))
    c = st.columns(3)
    view = c[0].radio("Show", VIEWS, key=Memory.view.bind(VIEWS[0]),
                      on_change=Memory.view.store)
    layer = c[1].selectbox("Layer", range(model.num_layers), key="mg.layer")
    direction = c[2].selectbox("Direction", range(model.num_directions), key="mg.dir",
                               format_func=("forward", "reverse").__getitem__)
    try:
        cell = run(model, x).layers[layer][direction]
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        st.stop()
    if view == VIEWS[0]:
        memory_view(cell, labels, nt)
    elif view == VIEWS[1]:
        gradients_view(subject, x, labels)
    else:
        ablation_view(subject, x, labels, layer, direction, nt)
