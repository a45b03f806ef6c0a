"""Controls that set every weight of the playground's cell: sliders when the cell is small,
one matrix editor per gate otherwise, plus sizes, randomize, reset and a JSON file.

Each editor writes straight into the shared weights from its callback, before the rerun, so
the page can draw the plots (already showing the change) before the editors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gru_viz.core.errors import GRUVizError
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, Notation
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.core.weights import BIASES, MATRICES, GRUWeights
from gru_viz.teaching.presets import DEFAULT
from gru_viz.teaching.urlstate import (
    MAX_HIDDEN,
    MAX_INPUT,
    MAX_JSON,
    weights_from_json,
    weights_to_json,
)
from gru_viz.ui import lab

SLIDER_LIMIT = 2  # sliders up to this hidden and input size, a matrix editor beyond
RANGE = 20.0  # slider range ± (the presets saturate gates with weights up to 16)
GATE_TITLES = {"z": "update gate", "r": "reset gate", "n": "candidate"}
GATE = "pg.gate"  # the gate whose tab is open: "z", "r" or "n"
UPLOAD_PROBLEM = "pg.upload_problem"  # why the file just uploaded was not used
EDIT_PROBLEM = "pg.edit_problem"  # why the matrix editor's last edit was not used
EDITOR_GEN = "pg.table.gen"  # bumped to replace an editor whose browser state was forged


def _gate_note(g: str, notation: Notation) -> str:
    if g == "z" and notation.key == COURSE.key:
        return ("These are PyTorch's z weights; the course's Γu = 1 − z = σ(−(…)), "
                "so raising them **closes** Γu (more of the old state kept).")
    if g == "z":
        return "Raising these raises z: more of the old state is kept."
    if g == "r":
        return "Raising these lets more of the old state into the candidate."
    return "The candidate's input and recurrent weights; the reset gate scales the recurrent part."


def _set_one(name: str, index: tuple[int, ...], key: str) -> None:
    w = st.session_state[lab.WEIGHTS]
    a = np.array(getattr(w, name))
    a[index] = st.session_state[key]
    st.session_state[lab.WEIGHTS] = w.replace(**{name: a})


def _sliders(w: GRUWeights, g: str) -> None:
    """One slider a number. Keys carry the weights' version, so that weights replaced from
    elsewhere (preset, randomize, file, link) make fresh sliders showing the new values."""
    H, I = w.hidden_size, w.input_size
    version = st.session_state[lab.VERSION]
    cols = st.columns(2)
    for name, shape in ((f"W_i{g}", (H, I)), (f"W_h{g}", (H, H)), (f"b_i{g}", (H,)),
                        (f"b_h{g}", (H,))):
        for index in np.ndindex(*shape):
            key = f"pg.{name}.{'.'.join(map(str, index))}.v{version}"
            src = ("bias" if len(index) == 1 else
                   f"x[{index[1]}]" if name[2] == "i" else f"h[{index[1]}]")
            with cols[0 if name.startswith("W") else 1]:
                st.slider(md("{}[{}]: {} → unit {:d}", name, ", ".join(map(str, index)), src,
                             index[0]),
                          -RANGE, RANGE, float(getattr(w, name)[index]), step=0.1, key=key,
                          on_change=_set_one,
                          args=(name, index, key))


def _table(w: GRUWeights, g: str) -> pd.DataFrame:
    H, I = w.hidden_size, w.input_size
    data = np.column_stack([getattr(w, f"W_i{g}"), getattr(w, f"W_h{g}"),
                            getattr(w, f"b_i{g}"), getattr(w, f"b_h{g}")])
    return pd.DataFrame(data, index=[f"unit {j}" for j in range(H)],
                        columns=[f"x[{i}]" for i in range(I)] + [f"h[{j}]" for j in range(H)]
                        + [f"b_i{g}", f"b_h{g}"])


def _parts(w: GRUWeights, g: str, table: pd.DataFrame) -> dict[str, np.ndarray] | None:
    """The gate's four arrays from its table; None when a cell is not a finite number."""
    H, I = w.hidden_size, w.input_size
    values = table.to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(values).all():
        return None
    return {f"W_i{g}": values[:, :I], f"W_h{g}": values[:, I:I + H],
            f"b_i{g}": values[:, I + H], f"b_h{g}": values[:, I + H + 1]}


def _edit(g: str, key: str) -> None:
    """Apply the editor's edits to the weights, before the run (the page draws the plots
    before the editors). The editor's state holds every edit since it was made, by row
    position and column name; the weights already hold the earlier ones, so this is exact.

    The state comes from the browser and may be forged: an edit naming a row or column that
    does not exist, or a value that is not a number, is reported and nothing is applied."""
    w = st.session_state[lab.WEIGHTS]
    table = _table(w, g)
    try:
        for row, cells in dict(st.session_state[key]["edited_rows"]).items():
            for col, value in dict(cells).items():
                r, c = int(row), table.columns.get_loc(col)
                if not (0 <= r < len(table) and isinstance(c, int)):
                    raise IndexError(row)
                if value is not None and (isinstance(value, bool)
                                          or not isinstance(value, (int, float))):
                    raise TypeError(value)
                table.iat[r, c] = np.nan if value is None else float(value)
    except (KeyError, IndexError, TypeError, ValueError, OverflowError):
        st.session_state[EDIT_PROBLEM] = ("That edit does not fit this table (a row, column or "
                                          "value that is not there); the weights stay in force.")
        return
    parts = _parts(w, g, table)
    if parts is not None:
        st.session_state[lab.WEIGHTS] = w.replace(**parts)


def _matrix(w: GRUWeights, g: str) -> None:
    st.caption(md("Rows: units. Columns x[·]: W_i{g}; h[·]: W_h{g}; then the two biases.", g=g))
    key = f"pg.table.{g}.{st.session_state[lab.VERSION]}.{st.session_state.get(EDITOR_GEN, 0)}"
    try:
        edited = st.data_editor(_table(w, g), key=key, disabled=False, width="stretch",
                                on_change=_edit, args=(g, key))
    except (KeyError, IndexError, TypeError, ValueError):
        # Streamlit applies the browser's edits itself and raises on a forged state (a row or
        # column not in the table) on every rerun: a fresh editor under a new key drops it.
        st.session_state[EDITOR_GEN] = st.session_state.get(EDITOR_GEN, 0) + 1
        st.session_state[EDIT_PROBLEM] = ("That edit does not fit this table (a row, column or "
                                          "value that is not there); the weights stay in force.")
        return _matrix(w, g)
    if problem := st.session_state.pop(EDIT_PROBLEM, None):
        st.error(markdown_text(problem))
    elif _parts(w, g, edited) is None:
        st.error("Every cell needs a finite number; the previous weights stay in force.")


def _open_gate(labels: dict[str, str], key: str) -> None:
    st.session_state[GATE] = next(g for g, label in labels.items()
                                  if label == st.session_state[key])


def weight_editors(notation: Notation) -> None:
    """Tabs per gate with sliders (small cells) or a matrix editor (larger ones).

    Only the open tab is drawn (a tab switch reruns): every element costs the browser time on
    each rerun, and the hidden tabs' 2/3 of the controls made most of the page. The open gate
    is kept by letter, so a notation switch (new tab labels) keeps it open.
    """
    w = st.session_state[lab.WEIGHTS]
    small = w.hidden_size <= SLIDER_LIMIT and w.input_size <= SLIDER_LIMIT
    labels = {g: f"{GATE_TITLES[g]} {notation.symbol(g)}" for g in "zrn"}
    key = f"{GATE}.{notation.key}"
    tabs = st.tabs(list(labels.values()), key=key,
                   default=labels[st.session_state.setdefault(GATE, "z")],
                   on_change=_open_gate, args=(labels, key))
    for tab, g in zip(tabs, labels):
        if tab.open:
            with tab:
                st.caption(authored(_gate_note(g, notation)))
                (_sliders if small else _matrix)(w, g)


def _resize() -> None:
    """Keep the weights that still fit; new rows and columns start at zero."""
    w = st.session_state[lab.WEIGHTS]
    H, I = st.session_state["pg.hidden"], st.session_state["pg.input"]
    parts = {}
    for name in MATRICES + BIASES:
        a = getattr(w, name)
        out = np.zeros((H,) if name[0] == "b" else (H, I) if name[2] == "i" else (H, H))
        fit = tuple(slice(min(m, n)) for m, n in zip(out.shape, a.shape))
        out[fit] = a[fit]
        parts[name] = out
    lab.set_weights(GRUWeights(**parts))


def _randomize() -> None:
    w = st.session_state[lab.WEIGHTS]
    seed = int(st.session_state["pg.seed"])
    lab.set_weights(GRUModel.random(w.input_size, w.hidden_size, seed=seed).cells[0][0],
                    st.session_state[lab.VOCAB])


def _reset() -> None:
    lab.load_preset(st.session_state[lab.PRESET] or DEFAULT)


def _upload() -> None:
    """Weights from the file just chosen, before the run (the page draws the plots first)."""
    up = st.session_state["pg.upload"]
    if up is None:  # the file was removed: the weights stay
        return
    try:
        weights, vocab = weights_from_json(up.getvalue()[:MAX_JSON + 1])
    except GRUVizError as exc:
        st.session_state[UPLOAD_PROBLEM] = f"{exc} The previous weights stay in force."
        return
    lab.set_weights(weights, vocab)
    st.session_state[lab.VARIANT] = "after" if weights.reset_after else "before"


def model_controls() -> None:
    """Sizes, randomize with a seed, reset, and the weights as a JSON file (for the sidebar).
    Every control acts in its callback, so this may be drawn after the plots."""
    w = st.session_state[lab.WEIGHTS]
    st.session_state["pg.hidden"], st.session_state["pg.input"] = w.hidden_size, w.input_size
    c1, c2 = st.columns(2)
    c1.number_input("hidden size", 1, MAX_HIDDEN, key="pg.hidden", on_change=_resize)
    c2.number_input("input size", 1, MAX_INPUT, key="pg.input", on_change=_resize)
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    c1.number_input("seed", 0, 10**6, key="pg.seed", value=0)
    c2.button("🎲 Randomize", on_click=_randomize, width="stretch",
              help="PyTorch's default initialisation, from this seed.")
    st.button("↺ Reset to the preset", on_click=_reset, width="stretch")
    st.download_button("⬇ Download weights (JSON)", weights_to_json(
        lab.weights_in_force(), st.session_state[lab.VOCAB]), "gru-weights.json",
        "application/json", width="stretch")
    st.file_uploader("Upload weights (JSON)", type=["json"], key="pg.upload", on_change=_upload,
                     max_upload_size=1)  # MB: weights_from_json reads at most MAX_JSON bytes
    if problem := st.session_state.pop(UPLOAD_PROBLEM, None):
        st.error(markdown_text(problem))
