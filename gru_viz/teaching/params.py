"""The parameters of one gate as a notation names them, and writing them back.

The playground stores PyTorch's weights. In PyTorch notation a gate has W_i·, W_h·, b_i·, b_h·.
In the course notation the gate acts on [c⟨t−1⟩, x⟨t⟩] with one bias: Γu = σ(W_uc c + W_ux x +
b_u) is the share of the candidate WRITTEN (1 − z), so W_u = −W_z and b_u = −(b_iz + b_hz):
raising a course weight opens Γu. Γr: W_rc = W_hr, W_rx = W_ir, b_r = b_ir + b_hr. The
candidate: W_cc = W_hn, W_cx = W_in, b_c = b_in (+ b_hn with reset before, where the two add);
with reset after the recurrent bias stays apart as b_cc = b_hn, because Γr scales it.
Writing a course bias changes the input-side PyTorch bias and keeps the recurrent one.
"""

from __future__ import annotations

import numpy as np

from gru_viz.core.weights import GRUWeights

COURSE_GATE = {"z": "u", "r": "r", "n": "c"}


def names(g: str, course: bool, reset_after: bool) -> list[str]:
    """The gate's parameters in display order: input weights, recurrent weights, biases."""
    if not course:
        return [f"W_i{g}", f"W_h{g}", f"b_i{g}", f"b_h{g}"]
    c = COURSE_GATE[g]
    return [f"W_{c}x", f"W_{c}c", f"b_{c}"] + (["b_cc"] if g == "n" and reset_after else [])


def source(name: str) -> str:
    """What a parameter multiplies: 'x' (the input), 'h' or 'c' (the previous state), or
    'bias'."""
    if name.startswith("b"):
        return "bias"
    if name in ("W_ux", "W_rx", "W_cx") or name.startswith("W_i"):
        return "x"
    return "c" if name in ("W_uc", "W_rc", "W_cc") else "h"


def gate_params(w: GRUWeights, g: str, course: bool, reset_after: bool) -> dict[str, np.ndarray]:
    """The gate's parameters by name (copies), in ``names`` order."""
    if not course:
        return {n: np.array(getattr(w, n)) for n in names(g, False, reset_after)}
    sign = -1.0 if g == "z" else 1.0
    bias = w.b_in + (0 if reset_after else w.b_hn) if g == "n" else \
        sign * (getattr(w, f"b_i{g}") + getattr(w, f"b_h{g}"))
    out = dict(zip(names(g, True, reset_after)[:3],
                   (sign * getattr(w, f"W_i{g}"), sign * getattr(w, f"W_h{g}"), bias)))
    if g == "n" and reset_after:
        out["b_cc"] = np.array(w.b_hn)
    return {k: np.array(v, dtype=np.float64) + 0.0 for k, v in out.items()}  # + 0.0: no −0


def set_gate_params(w: GRUWeights, g: str, values: dict[str, np.ndarray], course: bool,
                    reset_after: bool) -> GRUWeights:
    """The weights with some of the gate's parameters (as ``gate_params`` names them) set."""
    if not course:
        return w.replace(**{k: np.asarray(v, dtype=np.float64) for k, v in values.items()})
    c, sign = COURSE_GATE[g], (-1.0 if g == "z" else 1.0)
    parts: dict[str, np.ndarray] = {}
    if "b_cc" in values:  # before b_c: with reset after, b_c is b_in alone
        parts["b_hn"] = np.asarray(values["b_cc"], dtype=np.float64)
    b_h = parts.get(f"b_h{g}", getattr(w, f"b_h{g}"))
    for name, v in values.items():
        v = np.asarray(v, dtype=np.float64)
        if name == f"W_{c}x":
            parts[f"W_i{g}"] = sign * v
        elif name == f"W_{c}c":
            parts[f"W_h{g}"] = sign * v
        elif name == f"b_{c}":
            parts[f"b_i{g}"] = v if (g == "n" and reset_after) else sign * v - b_h
        elif name != "b_cc":
            raise KeyError(f"{name} is not a parameter of gate {g} in the course notation")
    return w.replace(**parts)
