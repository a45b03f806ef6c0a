"""Controls that set every weight of the playground's cell: sliders when the cell is small,
one matrix editor per gate otherwise, plus sizes, randomize, reset and a JSON file.

Each editor writes straight into the shared weights from its callback, before the rerun, so
the page can draw the plots (already showing the change) before the editors.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.elements.widgets.data_editor import DataEditorSerde, DataEditorState

from gru_viz.core.errors import GRUVizError, InputError
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, Notation
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.core.weights import BIASES, MATRICES, GRUWeights
from gru_viz.io.inputs import parse_rows
from gru_viz.teaching import params
from gru_viz.teaching.presets import DEFAULT
from gru_viz.teaching.urlstate import (
    MAX_HIDDEN,
    MAX_INPUT,
    MAX_JSON,
    weights_from_json,
    weights_to_json,
)
from gru_viz.ui import lab
from gru_viz.ui.state import Frame, Lab, Playground, Slot

SLIDER_LIMIT = 2  # sliders up to this hidden and input size, a matrix editor beyond
RANGE = 20.0  # slider range ± (the presets saturate gates with weights up to 16)
GATE_TITLES = {"z": "update gate", "r": "reset gate", "n": "candidate"}


UNREADABLE = "unreadable"  # the row (and column) an editor state Streamlit cannot read becomes


def _read_tolerantly(deserialize):
    """Streamlit reads every editor's browser state itself (JSON, row keys as integers) before
    any page code runs, to decide which callbacks to call: a forged state it cannot read (a row
    key "zero", JSON that does not parse) raised there, on every rerun of that session, where no
    page can catch it. Such a state is read instead as one edit of a row named UNREADABLE,
    which our callback (``_edit``) and Streamlit's application of the edits (``_matrix``)
    refuse like any edit that does not fit: a message, a fresh editor, the weights kept."""
    if getattr(deserialize, "tolerant", False):  # already wrapped (a module reload)
        return deserialize

    @functools.wraps(deserialize)
    def read(self, ui_value):
        try:
            return deserialize(self, ui_value)
        except (ValueError, TypeError, AttributeError):
            return DataEditorState(edited_rows={UNREADABLE: {UNREADABLE: None}}, added_rows=[],
                                   deleted_rows=[])

    read.tolerant = True
    return read


DataEditorSerde.deserialize = _read_tolerantly(DataEditorSerde.deserialize)


def _gate_note(g: str, notation: Notation) -> str:
    course = notation.key == COURSE.key
    if g == "z" and course:
        return ("The course's parameters of Γu = σ(W_ux x + W_uc c + b_u): raising them "
                "**opens** Γu (more of the new candidate written).")
    if g == "z":
        return "Raising these raises z: more of the old state is kept."
    if g == "r":
        return (f"Raising these lets more of the old state into the candidate "
                f"({notation.reset} → 1).")
    return ("The candidate's input and recurrent weights; the reset gate scales the recurrent "
            "part.")


def _course() -> tuple[bool, bool]:
    """(course notation?, reset after?) of the editors drawn now."""
    return Frame.notation.get() == COURSE.key, Lab.variant.get() == "after"


def _set_one(g: str, name: str, index: tuple[int, ...], slider: Slot[float]) -> None:
    w = Lab.weights.get()
    course, after = _course()
    a = params.gate_params(w, g, course, after)[name]
    a[index] = slider.get()
    Lab.weights.set(params.set_gate_params(w, g, {name: a}, course, after))


def _src(name: str, index: tuple[int, ...]) -> str:
    kind = params.source(name)
    return "bias" if kind == "bias" else f"{kind}[{index[1]}]"


def _sliders(w: GRUWeights, g: str) -> None:
    """One slider a number, in the notation shown. Keys carry the weights' version (and the
    notation), so that weights replaced from elsewhere (preset, randomize, file, link) or a
    notation switch make fresh sliders showing the new values."""
    course, after = _course()
    version = Lab.version.get()
    cols = st.columns(2)
    for name, a in params.gate_params(w, g, course, after).items():
        for index in np.ndindex(*a.shape):
            slider = Playground.weight_slider(name, index, version, course, after)
            with cols[0 if name.startswith("W") else 1]:
                st.slider(md("{}[{}]: {} → unit {:d}", name, ", ".join(map(str, index)),
                             _src(name, index), index[0]),
                          -RANGE, RANGE, float(np.clip(a[index], -RANGE, RANGE)),
                          step=0.1, key=slider.key, on_change=_set_one,
                          args=(g, name, index, slider))


def _columns(w: GRUWeights, g: str) -> list[tuple[str, str, int | None]]:
    """(column title, parameter, index) of the gate's table: input, recurrent, biases."""
    course, after = _course()
    out = []
    for name, a in params.gate_params(w, g, course, after).items():
        if a.ndim == 1:
            out.append((name, name, None))
        else:
            out += [(f"{params.source(name)}[{j}]", name, j) for j in range(a.shape[1])]
    return out


def _table(w: GRUWeights, g: str) -> pd.DataFrame:
    course, after = _course()
    parts = params.gate_params(w, g, course, after)
    data = {title: parts[name] if j is None else parts[name][:, j]
            for title, name, j in _columns(w, g)}
    return pd.DataFrame(data, index=[f"unit {j}" for j in range(w.hidden_size)])


def _number(value) -> float | None:
    """A table cell from the browser as a finite number, or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    try:
        v = float(str(value).strip().replace("−", "-"))
    except (ValueError, OverflowError):
        return None
    return v if np.isfinite(v) else None


def _apply(g: str, cells: dict[tuple[int, str], float]) -> None:
    """Set the gate's cells {(row, column title): value} (nothing else changes)."""
    w = Lab.weights.get()
    course, after = _course()
    parts = params.gate_params(w, g, course, after)
    where = {title: (name, j) for title, name, j in _columns(w, g)}
    changed = {}
    for (r, col), v in cells.items():
        name, j = where[col]
        parts[name][(r,) if j is None else (r, j)] = v
        changed[name] = parts[name]
    if changed:
        Lab.weights.set(params.set_gate_params(w, g, changed, course, after))


def _edit(g: str, editor: Slot[dict]) -> None:
    """Apply the editor's edits to the weights, before the run (the page draws the plots
    before the editors). The editor's state holds every edit since it was made, by row
    position and column name; applying them again to weights that hold them is exact.

    The state comes from the browser and may be forged: an edit naming a row or column that
    does not exist, or a value that is not a number, is reported and nothing is applied."""
    w = Lab.weights.get()
    titles = {title for title, _, _ in _columns(w, g)}
    cells = {}
    try:
        for row, edits in dict(editor.get()["edited_rows"]).items():
            for col, value in dict(edits).items():
                r = int(row)
                if not 0 <= r < w.hidden_size or col not in titles:
                    raise IndexError(row)
                v = _number(value)
                if v is None:
                    Playground.edit_problem.set(
                        f"Every cell needs a finite number (e.g. -6 or 0.25), not "
                        f"{markdown_text(repr(str(value)[:20]))}; the previous weights stay in "
                        "force.")
                    return
                cells[(r, col)] = v
    except (KeyError, IndexError, TypeError, ValueError, OverflowError):
        Playground.edit_problem.set("That edit does not fit this table (a row, column or "
                                    "value that is not there); the weights stay in force.")
        return
    _apply(g, cells)


def _shown(v: float) -> str:
    return f"{v:.6g}"


def _as_text(table: pd.DataFrame) -> str:
    return "\n".join(", ".join(_shown(v) for v in row) for row in table.to_numpy())


def _typed(g: str, box: Slot[str]) -> None:
    """The gate's numbers typed as text, one line per unit (a text box holds what is typed
    until it is sent: no keystroke can be lost, unlike a grid cell that opens its editor on
    the first key). Cells whose text did not change keep their exact value."""
    w = Lab.weights.get()
    table = _table(w, g)
    try:
        x = parse_rows(box.get(), table.shape[1])
        if len(x) != len(table):
            raise InputError(f"Type {len(table)} rows, one per unit; got {len(x)}.")
    except InputError as exc:
        Playground.edit_problem.set(f"{exc} The previous weights stay in force.")
        return
    cells = {(r, col): float(x[r, c]) for r in range(len(table))
             for c, col in enumerate(table.columns)
             if _shown(x[r, c]) != _shown(table.iat[r, c])}
    _apply(g, cells)


def _matrix(w: GRUWeights, g: str) -> None:
    course, after = _course()
    names = list(params.gate_params(w, g, course, after))
    h = "c" if course else "h"
    st.caption(md("Rows: units. Columns x[·]: {}; {}[·]: {}; then the bias{} {}.", names[0],
                  h, names[1], "es" if len(names) > 3 else "", ", ".join(names[2:])))
    table = _table(w, g)
    editor = Playground.table(g, course, after, Lab.version.get(), Playground.editor_gen.get())
    try:
        st.data_editor(table, key=editor.key, disabled=False, width="stretch", on_change=_edit,
                       args=(g, editor))
    except (KeyError, IndexError, TypeError, ValueError):
        # Streamlit applies the browser's edits itself and raises on a forged state (a row or
        # column not in the table) on every rerun: a fresh editor under a new key drops it.
        Playground.editor_gen.set(Playground.editor_gen.get() + 1)
        Playground.edit_problem.set("That edit does not fit this table (a row, column or "
                                    "value that is not there); the weights stay in force.")
        return _matrix(w, g)
    # the same numbers as text: refilled whenever the weights change
    text = _as_text(table)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    box = Playground.table_text(g, course, after, digest)
    st.text_area(md("…or type them: one line per unit, {:d} numbers ({})", table.shape[1],
                    ", ".join(table.columns)), text, key=box.key, on_change=_typed,
                 args=(g, box), height=68 + 22 * min(len(table), 6),
                 max_chars=40 * table.size + 200,  # bounded before parsing (issue 17)
                 help="Ctrl+Enter (or a click outside) applies the numbers.")
    if problem := Playground.edit_problem.take():
        st.error(markdown_text(problem))


def _open_gate(labels: dict[str, str], tabs: Slot[str]) -> None:
    Lab.gate.set(next(g for g, label in labels.items() if label == tabs.get()))


def weight_editors(notation: Notation) -> None:
    """Tabs per gate with sliders (small cells) or a matrix editor (larger ones).

    Only the open tab is drawn (a tab switch reruns): every element costs the browser time on
    each rerun, and the hidden tabs' 2/3 of the controls made most of the page. The open gate
    is kept by letter, so a notation switch (new tab labels) keeps it open.
    """
    w = Lab.weights.get()
    _serve()
    small = w.hidden_size <= SLIDER_LIMIT and w.input_size <= SLIDER_LIMIT
    labels = {g: f"{GATE_TITLES[g]} {notation.symbol(g)}" for g in "zrn"}
    chosen = Playground.gate_tabs(notation.key)
    tabs = st.tabs(list(labels.values()), key=chosen.key, default=labels[Lab.gate.init("z")],
                   on_change=_open_gate, args=(labels, chosen))
    for tab, g in zip(tabs, labels):
        if tab.open:
            with tab:
                st.caption(authored(_gate_note(g, notation)))
                (_sliders if small else _matrix)(w, g)


def _serve() -> dict:
    """The weights the download button serves, made current by every run that may have
    changed them: an edit reruns only the editors' fragment, not the sidebar's button."""
    box = Playground.served.init({})
    box["now"] = (lab.weights_in_force(), Lab.vocab.get())
    return box


def _resize() -> None:
    """Keep the weights that still fit; new rows and columns start at zero."""
    w = Lab.weights.get()
    H, I = Playground.hidden.get(), Playground.input.get()
    parts = {}
    for name in MATRICES + BIASES:
        a = getattr(w, name)
        out = np.zeros((H,) if name[0] == "b" else (H, I) if name[2] == "i" else (H, H))
        fit = tuple(slice(min(m, n)) for m, n in zip(out.shape, a.shape))
        out[fit] = a[fit]
        parts[name] = out
    lab.set_weights(GRUWeights(**parts))


def _randomize() -> None:
    w = Lab.weights.get()
    seed = int(Playground.seed.get())
    lab.set_weights(GRUModel.random(w.input_size, w.hidden_size, seed=seed).cells[0][0],
                    Lab.vocab.get())


def _reset() -> None:
    lab.load_preset(Lab.preset.get() or DEFAULT)


def _upload() -> None:
    """Weights from the file just chosen, before the run (the page draws the plots first)."""
    up = Playground.upload.get()
    if up is None:  # the file was removed: the weights stay
        return
    try:
        weights, vocab = weights_from_json(up.getvalue()[:MAX_JSON + 1])
    except GRUVizError as exc:
        Playground.upload_problem.set(f"{exc} The previous weights stay in force.")
        return
    lab.set_weights(weights, vocab)
    Lab.variant.set("after" if weights.reset_after else "before")


def model_controls() -> None:
    """Sizes, randomize with a seed, reset, and the weights as a JSON file (for the sidebar).
    Every control acts in its callback, so this may be drawn after the plots."""
    w = Lab.weights.get()
    Playground.hidden.set(w.hidden_size)
    Playground.input.set(w.input_size)
    c1, c2 = st.columns(2)
    c1.number_input("hidden size", 1, MAX_HIDDEN, key=Playground.hidden.key, on_change=_resize)
    c2.number_input("input size", 1, MAX_INPUT, key=Playground.input.key, on_change=_resize)
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    c1.number_input("seed", 0, 10**6, key=Playground.seed.key, value=0)
    c2.button("🎲 Randomize", on_click=_randomize, width="stretch",
              help="PyTorch's default initialisation, from this seed.")
    st.button("↺ Reset to the preset", on_click=_reset, width="stretch")
    box = _serve()  # read when clicked, with no session at hand: the box, not session state
    st.download_button("⬇ Download weights (JSON)", lambda: weights_to_json(*box["now"]),
                       "gru-weights.json", "application/json", on_click="ignore",
                       width="stretch")
    # max_upload_size in MB: weights_from_json reads at most MAX_JSON bytes
    st.file_uploader("Upload weights (JSON)", type=["json"], key=Playground.upload.key,
                     on_change=_upload, max_upload_size=1)
    if problem := Playground.upload_problem.take():
        st.error(markdown_text(problem))
