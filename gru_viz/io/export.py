"""A whole trace (every layer, direction and gate) to ``.npz``, ``.csv`` or ``.json``.

Cells are named like torch's parameters: ``l0``, ``l0_reverse``, ``l1``... Each export carries
the model description (a JSON-able dict) and, when given, the symbols read and extra per-step
arrays such as the head's probabilities. Traces of one sequence have fields (T, H); a batch
(B, T, H).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gru_viz.core.trace import STEP_FIELDS, LayerTrace, Trace


def cell_name(cell: LayerTrace) -> str:
    return f"l{cell.layer}" + ("_reverse" if cell.reverse else "")


def trace_arrays(trace: Trace, extras: Mapping[str, np.ndarray] | None = None
                 ) -> dict[str, np.ndarray]:
    """Flat ``{"l0.z": (T, H), ..., "output": ..., "h_n": ...}`` plus ``extras``."""
    out = {f"{cell_name(c)}.{f}": np.asarray(getattr(c, f))
           for c in trace.cells() for f in ("x", "h0") + STEP_FIELDS}
    return out | {"output": trace.output, "h_n": trace.h_n} | dict(extras or {})


def to_npz(trace: Trace, description: Mapping[str, Any], tokens: Sequence[str] | None = None,
           extras: Mapping[str, np.ndarray] | None = None) -> bytes:
    """Arrays as named above; ``description`` as JSON text, ``tokens`` as a string array."""
    buf = io.BytesIO()
    meta = {"description": np.array(json.dumps(dict(description), default=str))}
    if tokens is not None:
        meta["tokens"] = np.array(list(tokens), dtype=str)
    np.savez_compressed(buf, **trace_arrays(trace, extras), **meta)
    return buf.getvalue()


def _listed(a: np.ndarray) -> list:
    """Nested lists with NaN/inf as None (JSON has no NaN)."""
    a = np.asarray(a, dtype=np.float64)
    return np.where(np.isfinite(a), a, None).tolist() if not np.isfinite(a).all() else a.tolist()


def to_json(trace: Trace, description: Mapping[str, Any], tokens: Sequence[str] | None = None,
            extras: Mapping[str, np.ndarray] | None = None) -> str:
    """``{"description", "tokens", "cells": [{"name", "layer", "reverse", "reset_after",
    field: nested lists}], "output", "h_n", extras...}``."""
    cells = [{"name": cell_name(c), "layer": c.layer, "reverse": c.reverse,
              "reset_after": c.reset_after}
             | {f: _listed(getattr(c, f)) for f in ("x", "h0") + STEP_FIELDS}
             for c in trace.cells()]
    doc = {"description": dict(description), "tokens": None if tokens is None else list(tokens),
           "cells": cells, "output": _listed(trace.output), "h_n": _listed(trace.h_n)}
    doc |= {k: _listed(v) for k, v in (extras or {}).items()}
    return json.dumps(doc, default=str, allow_nan=False)


def to_csv(trace: Trace, description: Mapping[str, Any], tokens: Sequence[str] | None = None
           ) -> str:
    """One row per cell, sequence, step and unit: ``cell, layer, reverse, b, t, token, unit``,
    every recorded field, then ``description`` (the model's description as JSON text, on the
    first row only). A plain CSV: ``pandas.read_csv(path)`` and ``csv.DictReader`` read it back
    whole (tokens such as ``#``, ``,``, ``"`` or a new line are quoted); pass
    ``keep_default_na=False`` to pandas to keep a token such as ``NA`` as text."""
    buf = io.StringIO()
    about = json.dumps(dict(description), default=str, ensure_ascii=False)
    # text quoted, numbers bare: a token such as "\r" cannot end a row for any reader
    w = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    w.writerow(["cell", "layer", "reverse", "b", "t", "token", "unit", *STEP_FIELDS,
                "description"])
    for c in trace.cells():
        fields = [np.asarray(getattr(c, f)) for f in STEP_FIELDS]
        if c.h.ndim == 2:  # one sequence: a batch of one
            fields = [f[None] for f in fields]
        B, T, H = fields[-1].shape
        for b in range(B):
            for t in range(T):
                token = "" if tokens is None else tokens[t]
                for j in range(H):
                    w.writerow([cell_name(c), c.layer, int(c.reverse), b, t, token, j,
                                *(float(f[b, t, j]) for f in fields), about])
                    about = ""
    return buf.getvalue()
