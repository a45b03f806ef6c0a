"""What the browser needs to move through a recorded run by itself: pure data, no Streamlit.

The teaching pages send a whole run once (hidden ≤ 8, a few hundred steps); the time
component (``gru_viz.ui.timeline``) then shows any step without asking the server. What
changes from step to step (the diagram, the equations with numbers, the values) is drawn
here, in Python, for every step, so that the maths has one source and the tests can read
each step's numbers; ``frames`` keeps the payload small by sending what all steps share once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from gru_viz.core.notation import Notation
from gru_viz.core.trace import LayerTrace
from gru_viz.core.untrusted import html_text
from gru_viz.core.weights import GRUWeights
from gru_viz.figures.diagram import UnitStep, cell_svg
from gru_viz.figures.traces import FIELDS, field_values
from gru_viz.teaching.stepmath import FULL_MATRICES, equation_html, explain_html, from_trace, number

# An attribute value or the text between two tags: what differs between two steps' markup.
_TOKEN = re.compile(r'("[^"]*"|>[^<]*<)')
RANGES = {"z": (0.0, 1.0), "r": (0.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}


def frames(strings: Sequence[str]) -> dict:
    """Markup of every step as one template and, per step, only the pieces that differ.

    ``{"parts": [...], "slots": [k, ...], "values": [[piece per slot] per step]}``: step t
    is ``parts`` with ``parts[slots[i]] = values[t][i]``, joined. Markup whose structure
    differs between steps is sent whole (one slot).
    """
    split = [_TOKEN.split(s) for s in strings]
    if not split or any(len(p) != len(split[0]) for p in split):
        return {"parts": [""], "slots": [0], "values": [[s] for s in strings]}
    pieces = list(zip(*split))  # per piece, its text at every step
    slots = [k for k, texts in enumerate(pieces) if len(set(texts)) > 1]
    changing = set(slots)
    parts = [("" if k in changing else texts[0]) for k, texts in enumerate(pieces)]
    return {"parts": parts, "slots": slots, "values": [[p[k] for k in slots] for p in split]}


def unframe(f: dict, t: int) -> str:
    """Step t's markup from ``frames`` (what the browser does)."""
    parts = list(f["parts"])
    for k, v in zip(f["slots"], f["values"][t]):
        parts[k] = v
    return "".join(parts)


def _values_tables(notation: Notation, cell: LayerTrace, units: Sequence[int]) -> list[str]:
    """Per step, a small table: the step's value of each field for each unit (one rounding
    rule)."""
    head = "".join(f"<th>{html_text(notation.symbol(f))}</th>" for f in FIELDS)
    values = {f: field_values(cell, notation, f) for f in FIELDS}

    def cell_html(f: str, t: int, j: int) -> str:
        v = values[f][t, j]
        return f'<td data-f="{f}" data-u="{j}" data-v="{v:.6f}">{number(v)}</td>'

    return [f'<table class="vals"><tr><th></th>{head}</tr>' + "".join(
        f"<tr><th>unit {j}</th>" + "".join(cell_html(f, t, j) for f in FIELDS) + "</tr>"
        for j in units) + "</table>" for t in range(cell.steps)]


def run_id(cell: LayerTrace, *extra) -> str:
    """Changes whenever the run (or what is drawn of it) changes."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for a in (cell.x, cell.h, cell.z, cell.r, cell.n):
        h.update(np.ascontiguousarray(a, np.float64).tobytes())
    h.update(repr(extra).encode())
    return h.hexdigest()


def _series(cell: LayerTrace, notation: Notation, unit: int) -> list[dict]:
    return [{"f": f, "label": notation.label(f), "sym": notation.symbol(f),
             "lo": RANGES[f][0], "hi": RANGES[f][1],
             "y": [round(float(v), 5) for v in field_values(cell, notation, f)[:, unit]]}
            for f in FIELDS]


def stepper_payload(w: GRUWeights, cell: LayerTrace, notation: Notation, labels: Sequence[str],
                    unit: int, step: int) -> dict:
    """Step through's view of a run: per step the equations with numbers (whole matrices for
    small cells, else the unit's), the cell diagram for ``unit`` and the values; the unit's
    four fields over time for the time chart; ``step`` is where the view opens."""
    T, H = cell.steps, cell.hidden_size
    full = H <= FULL_MATRICES and w.input_size <= FULL_MATRICES
    eqs, whys, svgs = [], [], []
    for t in range(T):
        m = from_trace(w, cell, t, notation)
        eqs.append("".join(equation_html(eq, None if full else unit) for eq in m.equations))
        whys.append("".join(f'<div class="why">{explain_html(eq, unit)}</div>'
                            for eq in m.equations))
        svgs.append(cell_svg(notation, UnitStep(
            labels[t], float(cell.h_prev[t, unit]), float(cell.r[t, unit]),
            float(cell.z[t, unit]), float(cell.n[t, unit]), float(cell.h[t, unit])),
            w.reset_after, title=f"unit {unit}, t = {t}"))
    return {"kind": "stepper", "run": run_id(cell, notation.key, unit, w.reset_after),
            "T": T, "t0": int(step), "labels": [str(s) for s in labels],
            "full": full, "unit": int(unit),
            "equations": frames(eqs), "why": frames(whys), "diagram": frames(svgs),
            "values": frames(_values_tables(notation, cell, [unit])),
            "series": _series(cell, notation, unit)}


def clock_payload(cell: LayerTrace, notation: Notation, labels: Sequence[str],
                  units: Sequence[int], step: int, targets: Sequence[dict]) -> dict:
    """The Playground's time bar: the step's values of the followed units, and the Plotly
    charts (by element key) that get a cursor: ``{"key": ..., "style": "band" | "line"}``."""
    T = cell.steps
    return {"kind": "clock", "run": run_id(cell, notation.key, tuple(units)), "T": T,
            "t0": int(step), "labels": [str(s) for s in labels],
            "values": frames(_values_tables(notation, cell, units)),
            "targets": list(targets)}
