"""Phase portrait: where a GRU's state goes under a constant input, its fixed and slow points."""

import numpy as np
import streamlit as st

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import portrait
from gru_viz.core import budget
from gru_viz.core.errors import GRUVizError
from gru_viz.core.reference import sigmoid
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.figures.dynamics import phase_portrait, pitchfork_figure
from gru_viz.figures.traces import step_labels
from gru_viz.io.inputs import parse_rows
from gru_viz.teaching.phase import bifurcation_help, slider_labels, update_bias_help
from gru_viz.ui import chosen_notation, frame
from gru_viz.ui.charts import chart
from gru_viz.ui.explorer_input import input_key
from gru_viz.ui.state import Phase, Study
from gru_viz.ui.subjects import Subject, picker, typed_input

HAND = "2-unit GRU (sliders)"
STUDY = Study("pp")
SLIDERS = {  # key -> (label, low, high, help)
    "w00": ("W_hn[0,0]: unit 0 → its own candidate", -3.0, 3.0, None),
    "w01": ("W_hn[0,1]: unit 1 → unit 0's candidate", -3.0, 3.0, None),
    "w10": ("W_hn[1,0]: unit 0 → unit 1's candidate", -3.0, 3.0, None),
    "w11": ("W_hn[1,1]: unit 1 → its own candidate", -3.0, 3.0, None),
    "b0": ("candidate bias of unit 0", -1.5, 1.5, None),
    "b1": ("candidate bias of unit 1", -1.5, 1.5, None),
    "bz": ("update gate bias b_z (z = σ(b_z))", -3.0, 4.0,
           "Larger: z nearer 1, each step keeps more of the old state. The fixed points stay "
           "where they are; only their eigenvalues move."),
}


def hand_values() -> tuple:
    """(W_hn, b_n) of the sliders as they stand."""
    v = {k: Phase.param(k).get() for k in ("w00", "w01", "w10", "w11", "b0", "b1")}
    return ((v["w00"], v["w01"]), (v["w10"], v["w11"])), (v["b0"], v["b1"])


def update_bias_slider(nt, label: str, lo: float, hi: float) -> None:
    """The update gate's bias, kept as PyTorch's b_z in ``Phase.param("bz")``; in course
    notation the slider shows and sets b_u = −b_z (Γu = σ(b_u) = 1 − z)."""
    course = nt.key == "course"
    bz, widget, sign = Phase.param("bz"), Phase.bias_widget(course), -1.0 if course else 1.0
    widget.set(sign * bz.get())
    st.slider(authored(label), -hi if course else lo, -lo if course else hi, step=0.05,
              key=widget.key, help=authored(update_bias_help(nt)),
              on_change=lambda: bz.set(sign * widget.get()))


def preset_values(p: dy.PlanePreset) -> dict[str, float]:
    (w00, w01), (w10, w11) = p.W_hn
    return {"w00": w00, "w01": w01, "w10": w10, "w11": w11, "b0": p.b_n[0], "b1": p.b_n[1],
            "bz": p.b_z}


def apply_preset() -> None:
    p = dy.PLANE_PRESETS[Phase.preset.get()]
    for k, v in preset_values(p).items():
        Phase.param(k).set(float(v))
    Phase.hand_text.set(p.example)


@st.cache_data(max_entries=64, ttl=budget.IDLE_SECONDS, show_spinner=False)
def hand_set(values: tuple, xbar: tuple):
    return portrait.hand_portrait(((values[0], values[1]), (values[2], values[3])), values[4:6],
                                  values[6], xbar)


def hand_set_view() -> None:
    first = next(iter(dy.PLANE_PRESETS))
    for k, v in preset_values(dy.PLANE_PRESETS[first]).items():
        Phase.param(k).init(float(v))
    Phase.hand_text.init(dy.PLANE_PRESETS[first].example)
    controls, plot = st.columns([1, 2], gap="large")
    nt = chosen_notation()
    with controls:
        name = st.selectbox("Preset", list(dy.PLANE_PRESETS), key=Phase.preset.key,
                            on_change=apply_preset)
        st.caption(authored(dy.PLANE_PRESETS[name].description))
        st.caption(f"The reset gate is held open ({markdown_text(nt.reset)} = 1) and input "
                   f"channel i drives unit i's candidate with weight 1: " + (
                       "c̃ = tanh(x + W_cc c + b_c)." if nt.key == "course" else
                       "n = tanh(x + W_hn h + b_in)."))
        labels = slider_labels(nt)
        xbar = (Phase.x0.get(), Phase.x1.get())
        for k, (_, lo, hi, helptext) in SLIDERS.items():
            if k == "w00":  # computed for the model on screen, not the textbook's 1
                helptext = bifurcation_help(nt, *hand_values(), xbar)
            if k == "bz":
                update_bias_slider(nt, labels[k], lo, hi)
                continue
            st.slider(authored(labels[k]), lo, hi, step=0.05, key=Phase.param(k).key,
                      help=authored(helptext))
        c = st.columns(2)
        xbar = (c[0].number_input("constant input x̄₀", -3.0, 3.0, 0.0, 0.1, key=Phase.x0.key),
                c[1].number_input("constant input x̄₁", -3.0, 3.0, 0.0, 0.1, key=Phase.x1.key))
        text = st.text_area("Input sequence for the trajectory (2 numbers a step, rows split by "
                            "';'); channel i drives unit i", key=Phase.hand_text.key, height=90)
    values = tuple(Phase.param(k).get() for k in SLIDERS)
    w, field, points = hand_set(values, xbar)
    try:
        x = parse_rows(text, 2)
        states = [portrait.trajectory(w, x)]
        labels = ["start: h0 = 0"] + [f"t = {t}, input {', '.join(f'{v:g}' for v in row)}"
                                      for t, row in enumerate(x)]
    except GRUVizError as exc:
        with controls:
            st.error(md("{} The portrait shows no trajectory until the input reads.", exc))
        states, labels = [], None
    plane = dy.unit_plane(2)
    nt = chosen_notation()
    with plot:
        chart(phase_portrait(
            plane, field, points, states, labels,
            title=f"One step under x̄ = ({xbar[0]:g}, {xbar[1]:g}): " + (
                "F(c) = Γu ⊙ c̃ + (1 − Γu) ⊙ c" if nt.key == "course" else
                "F(h) = (1 − z) ⊙ n + z ⊙ h")),
            key="pp.portrait")
        st.markdown(
            f"Arrows: the direction each state moves in one step; background: how far (white = "
            f"slow). Each nullcline is where one unit stops changing, i.e. where its candidate "
            f"{markdown_text(nt.candidate)} equals its state: they cross at the fixed points. "
            f"Stability comes "
            f"from the eigenvalues λ of the step's Jacobian: stable when every |λ| < 1 (it is a "
            f"map, not a flow). The trajectory follows the typed input; the field assumes the "
            f"constant input x̄. Update gate: {markdown_text(nt.update)} = "
            f"{float(nt.update_values(sigmoid(values[6]))):.3f} at every state.")
        st.dataframe(portrait.point_rows(points, plane), hide_index=True)
    with st.expander("One unit: watch one fixed point become three (pitchfork)", expanded=False):
        k = st.slider("candidate recurrent weight k (reset gate open, no bias)", 0.0, 3.0, 1.5,
                      0.05, key="pp.k")
        roots = dy.fixed_points(dy.pitchfork(k), np.zeros(1))
        chart(pitchfork_figure(k, roots, nt), key="pp.pitchfork")
        st.markdown("A fixed point is where the candidate curve meets the diagonal, "
                    "tanh(k·h) = h. For k ≤ 1 the only one is h = 0; above 1 the slope at 0 "
                    "exceeds the diagonal's, 0 turns unstable and two stable states appear: "
                    "a one-bit memory.")


@st.cache_data(max_entries=16, ttl=budget.IDLE_SECONDS,
               show_spinner="Searching for fixed and slow points…")
def slow_search(key: str, layer: int, direction: int, xbar: tuple, x_key: str,
                _subject: Subject, _x: np.ndarray):
    """``portrait.slow_point_search``, cached; ``x_key`` is an exact hash of ``_x``. Heavy:
    waits for one of the process's slots (gru_viz.core.budget)."""
    with budget.heavy():
        return portrait.slow_point_search(_subject.model, layer, direction, _x, np.array(xbar))


def larger_view(subject: Subject) -> None:
    model = subject.model
    st.caption(markdown_text(subject.summary))
    c = st.columns(3)
    layer = c[0].selectbox("Layer", range(model.num_layers), key="pp.layer")
    direction = c[1].selectbox("Direction", range(model.num_directions), key="pp.dir",
                               format_func=("forward", "reverse").__getitem__)
    parsed = typed_input(STUDY, subject)
    if parsed is None:
        return
    x, tokens = parsed
    labels = step_labels(x, tokens)
    hover = [f"t = {t}, input {s}" for t, s in enumerate(labels)]
    if layer == 0 and subject.vocabulary is not None:
        options = ["zero"] + list(subject.vocabulary.symbols)
        held = c[2].selectbox("Constant input x̄", options, key=f"pp.xbar.{subject.key}",
                              index=1, format_func=lambda s: s if s == "zero" else f"symbol {s!r}")
        xbar = np.zeros(model.input_size) if held == "zero" else subject.symbol_input(held)
    elif layer == 0:
        text = c[2].text_input(f"Constant input x̄ ({model.input_size:d} numbers)",
                               ", ".join(["0"] * model.input_size), key=f"pp.xvec.{subject.key}")
        try:
            xbar = parse_rows(text, model.input_size)[0]
        except (GRUVizError, IndexError):
            st.error(md("Type {:d} numbers for the constant input, e.g. {}.", model.input_size,
                        ", ".join(["0"] * min(model.input_size, 8))))
            return
    else:
        t_in = c[2].slider("x̄ = this layer's input at step", 0, len(x) - 1, len(x) - 1,
                           key="pp.t_in")
        xbar = portrait.layer_input(model, x, layer, direction, t_in)
    try:
        states, points, starts = slow_search(subject.key, layer, direction,
                                             tuple(np.round(xbar, 12)), input_key(x, None),
                                             subject, x)
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        return
    H = model.hidden_size
    plane_kind = st.radio("Plane", ["top-2 principal components", "two units"],
                          index=1 if H == 2 else 0, key=f"pp.plane.{H == 2}", horizontal=True,
                          help="With two units the plane is the whole state space.")
    if plane_kind == "two units":
        c = st.columns(3)
        i = c[0].selectbox("x axis: unit", range(H), key="pp.ui")
        j = c[1].selectbox("y axis: unit", range(H), index=min(1, H - 1), key="pp.uj")
        t = c[2].slider("other units held at their state at step", 0, len(x) - 1, len(x) - 1,
                        key="pp.t_hold")
        if i == j:
            st.error("Choose two different units.")
            return
        plane = dy.unit_plane(H, i, j, rest=states[0, t])
        extent = 1.05
        note = f"a slice through the state at step {t}; the other units held there"
    else:
        plane, var, extent = portrait.pca_view(states)
        note = (f"PC 1 and PC 2 explain {var[0]:.0%} and {var[1]:.0%} of the states' variance; "
                "the field is the plane through their mean")
    field = portrait.square_field(model.cells[layer][direction], xbar, plane, extent, 41)
    fixed = portrait.fixed_count(points)
    if not points:
        st.warning(f"No fixed or slow point (q ≤ 1e-6) was reached from {starts:d} starts on "
                   "the trajectories under this input; try another constant input.")
    chart(phase_portrait(
        plane, field, points, list(states), hover,
        title=f"{len(points)} fixed/slow points ({fixed} fixed), {note}", extent=extent),
        key="pp.large")
    st.markdown(
        "The points minimise q(h) = ½‖F(h) − h‖² from states the model visits (Sussillo & "
        "Barak 2013): q ≈ 0 is a fixed point, a small q a slow point where the state drifts "
        "about √(2q) a step. Thin grey lines: the same steps shuffled, to visit more of the "
        "space. Arrows show the step projected onto the plane; states off the plane move "
        "differently.")
    reads = subject.head is not None and model.num_layers == 1 and not model.bidirectional
    symbols = subject.vocabulary.symbols if subject.vocabulary is not None else None
    st.dataframe(portrait.point_rows(points, plane, subject.head if reads else None, symbols),
                 hide_index=True)


frame("Phase portrait", "🌀")
st.title("Phase portrait: fixed points and slow points")
st.markdown("Hold the input constant and a GRU layer becomes a map h ↦ F(h). Where it rests "
            "(its fixed points) and how fast it gets there is how it remembers.")
source = st.radio("Study", [HAND, "a larger model"], key=Phase.source.bind(HAND),
                  on_change=Phase.source.store, horizontal=True)
if source == HAND:
    hand_set_view()
else:
    chosen = picker(STUDY)
    if chosen is not None:
        larger_view(chosen)
