"""Pieces both teaching pages show: the variant switch, the equations in force, the preset."""

from __future__ import annotations

import streamlit as st

from gru_viz.core.notation import COURSE, Notation
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.core.weights import BIASES, MATRICES
from gru_viz.teaching.presets import Preset, all_presets
from gru_viz.ui import lab
from gru_viz.ui.state import Lab, Playground

VARIANTS = {"before": "reset before: W (r ⊙ h) (course, Cho et al.)",
            "after": "reset after: r ⊙ (W h + b) (PyTorch)"}
CUSTOM = "—"


def variant_control() -> None:
    st.radio("Where the reset gate acts", list(VARIANTS), format_func=VARIANTS.get,
             key=Lab.variant.bind("before"), on_change=Lab.variant.store,
             help="PyTorch applies the reset gate after the recurrent product; the course "
                  "notes and Cho et al. (2014) apply it to the previous state before it.")


def equations_in_force(notation: Notation, reset_after: bool) -> None:
    """Which notation and reset placement the page computes, in one line."""
    place = "reset after (PyTorch)" if reset_after else "reset before (course, Cho et al.)"
    meaning = ("Γu = share of the new candidate written = 1 − z" if notation.key == COURSE.key
               else "z = share of the old state kept")
    st.markdown(md("**Equations in force:** {} notation, {}; {}.", notation.name, place, meaning))


def _load() -> None:
    key = Playground.preset.get()
    if key != CUSTOM:
        lab.load_preset(key)


def preset_picker() -> None:
    presets = all_presets()
    current = Lab.preset.get()
    Playground.preset.set(current if current in presets else CUSTOM)
    st.selectbox("Preset", [CUSTOM, *presets], key=Playground.preset.key, on_change=_load,
                 format_func=lambda k: "your own weights" if k == CUSTOM else presets[k].title,
                 help="Loading a preset sets its weights and its input together.")


def preset_card(state: lab.Lab, compact: bool = False) -> None:
    """The preset's idea and what to look for (``compact``: the idea folded away)."""
    p = state.preset
    if p is None:
        st.caption("Your own weights. Pick a preset to see one idea at a time.")
        return
    edited = not _matches(p, state)
    title = f"**{markdown_text(p.title)}**{' (edited)' if edited else ''}"
    if compact:
        with st.expander(f"{authored(title)}: the idea"):
            st.markdown(authored(p.explanation))
    else:
        st.markdown(f"{authored(title)}. {authored(p.explanation)}")
    st.info(f"**What to look for:** {authored(p.look_for)}", icon="👀")


def _matches(p: Preset, state: lab.Lab) -> bool:
    w = state.weights
    return all((getattr(w, n) == getattr(p.weights, n)).all() for n in MATRICES + BIASES)


def unit_picker(hidden: int) -> int:
    """The unit whose numbers Step through shows (kept in the link as ``u``)."""
    Lab.unit.set(min(Lab.unit.get(), hidden - 1))
    if hidden == 1:
        return 0
    return st.radio("unit to follow", range(hidden), key=Lab.unit.bind(0),
                    on_change=Lab.unit.store, horizontal=True,
                    format_func=lambda j: f"unit {j:d}")


# Page-level CSS of the teaching pages: less empty space above the first element, so that
# the main view fits a 1280×720 projector without scrolling.
_COMPACT = """<style>
[data-testid="stMainBlockContainer"] { padding: 2.2rem 1.5rem 2rem; }
[data-testid="stMainBlockContainer"] h3 { padding: 0.1rem 0 0.2rem; }
</style>"""


def compact_page() -> None:
    st.html(_COMPACT)


def _follow(hidden: int) -> None:
    chosen = sorted(Playground.units.get())
    Lab.follow.set(None if chosen == list(range(hidden)) else tuple(chosen))


def follow_picker(hidden: int) -> list[int]:
    """The Playground's units to follow (kept in the link as ``f``). None chosen draws all:
    the line panels never stand empty."""
    every = list(range(hidden))
    follow = Lab.follow.get()
    if follow is None or any(j >= hidden for j in follow):
        follow = every
    Playground.units.set(list(follow))
    units = st.multiselect("Units to follow", every, key=Playground.units.key,
                           on_change=_follow, args=(hidden,), format_func=lambda j: f"unit {j:d}")
    if not units:
        st.caption("No unit chosen: the lines show every unit.")
    return units or every
