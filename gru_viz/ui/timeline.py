"""The time component: a recorded run in the browser, moved through without the server.

A Streamlit components-v2 component (inline HTML/JS/CSS, no iframe, no build step, nothing
fetched): ``gru_viz.figures.timeline`` builds its data, ``timeline.js`` draws it. The server
hears of the chosen step only when play pauses or stepping has been idle (state ``t``): the
page keeps it in ``state.Lab.step`` and in the link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import streamlit as st

from gru_viz.core import budget
from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.trace import LayerTrace
from gru_viz.core.weights import GRUWeights
from gru_viz.figures.timeline import run_id, stepper_payload
from gru_viz.ui.components import declare
from gru_viz.ui.state import Lab, Slot

_component = declare("gruviz_timeline", "timeline.js", "timeline.css")


def _heard(key: str) -> None:
    """The browser's step, when it pauses: kept for the link and the other teaching page."""
    t = (Slot[dict | None](key, None).get() or {}).get("t")
    if isinstance(t, int) and t >= 0:
        Lab.step.set(t)


def mount_timeline(payload: dict, key: str) -> None:
    """Mount (or update in place) the time component with ``payload``."""
    _component(key=key, data=payload, default={"t": payload["t0"]},
               on_t_change=lambda: _heard(key))


@st.cache_data(max_entries=32, ttl=budget.IDLE_SECONDS, show_spinner=False)
def _stepper(key: str, _w: GRUWeights, _cell: LayerTrace, notation: str,
             labels: tuple[str, ...], unit: int) -> dict:
    return stepper_payload(_w, _cell, NOTATIONS[notation], labels, unit, 0)


def stepper(w: GRUWeights, cell: LayerTrace, notation: Notation, labels: Sequence[str],
            unit: int, step: int) -> dict:
    """``stepper_payload``, built once per distinct run (a few hundred steps take ~0.5 s):
    changing the unit back, or a rerun that changes nothing, costs no rebuild."""
    h = hashlib.blake2b(digest_size=12)
    for a in w.fused().values():
        h.update(np.ascontiguousarray(a, np.float64).tobytes())
    key = h.hexdigest() + run_id(cell, notation.key, unit, w.reset_after, tuple(labels))
    return _stepper(key, w, cell, notation.key, tuple(labels), unit) | {"t0": int(step)}


# One rerun, once the page is painted and the browser idle: what is drawn then (Home's small
# chart) never delays what the page shows first.
_AFTER_PAINT_JS = """export default function ({ data, setStateValue }) {
  if (data && data.done) return;
  const go = () => setStateValue("painted", true);
  if (window.requestIdleCallback) window.requestIdleCallback(go, { timeout: 1500 });
  else setTimeout(go, 300);
}"""
_after_paint = st.components.v2.component("gruviz_after_paint", js=_AFTER_PAINT_JS)


def after_paint(key: str) -> bool:
    """False on a session's first run of the page; True once the browser has painted it and
    gone idle (one more run)."""
    painted = Slot[dict | None](key, None)  # the component's state
    done = bool((painted.get() or {}).get("painted"))
    _after_paint(key=key, data={"done": done}, default={"painted": False},
                 on_painted_change=lambda: None, height=0)
    return bool((painted.get() or {}).get("painted"))
