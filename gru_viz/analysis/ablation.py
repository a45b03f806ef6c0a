"""Ablation: force one unit's update or reset gate to a value from a chosen step, and re-run.

No change to the engines is needed: a gate whose weight rows are zero and whose bias is +inf,
−inf or logit(v) is exactly 1, exactly 0 or v at every step (σ(±inf) = 1 or 0 in floating
point). From step s on, the run continues from the states at step s − 1 with those weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gru_viz.analysis.units import linear, softmax
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import STEP_FIELDS, LayerTrace, Trace
from gru_viz.core.weights import GRUWeights

Head = tuple[np.ndarray, np.ndarray]  # readout weight (V, D·H) and bias (V,)


@dataclass(frozen=True)
class Clamp:
    """Gate ``gate`` ("z" or "r") of ``unit`` in layer ``layer``, direction ``direction``,
    held at ``value`` from step ``from_step`` on (PyTorch's z: 1 = never write)."""

    layer: int
    unit: int
    gate: str
    value: float
    from_step: int = 0
    direction: int = 0

    def describe(self) -> str:
        return (f"{self.gate} = {self.value:g} for unit {self.unit} of layer {self.layer}"
                f"{' reverse' if self.direction else ''} from step {self.from_step}")


def gate_bias(value: float) -> float:
    """The bias that makes σ exactly ``value`` for 0 and 1 (±inf), and logit(value) between."""
    if not 0 <= value <= 1:
        raise InputError(f"A gate lies between 0 and 1; got {value}.")
    if value in (0, 1):
        return math.inf if value == 1 else -math.inf
    return math.log(value / (1 - value))


def clamp_weights(w: GRUWeights, unit: int, gate: str, value: float) -> GRUWeights:
    """A copy of ``w`` whose ``gate`` row for ``unit`` ignores input and state: σ(bias) = value."""
    if gate not in ("z", "r"):
        raise InputError(f"Only the update gate 'z' and the reset gate 'r' can be clamped, not "
                         f"{gate!r}.")
    if not 0 <= unit < w.hidden_size:
        raise InputError(f"Unit {unit} is outside 0 to {w.hidden_size - 1}.")
    W_i, W_h = np.array(getattr(w, f"W_i{gate}")), np.array(getattr(w, f"W_h{gate}"))
    b_i, b_h = np.array(getattr(w, f"b_i{gate}")), np.array(getattr(w, f"b_h{gate}"))
    W_i[unit], W_h[unit], b_h[unit] = 0, 0, 0
    b_i[unit] = gate_bias(value)
    return w.replace(**{f"W_i{gate}": W_i, f"W_h{gate}": W_h, f"b_i{gate}": b_i,
                        f"b_h{gate}": b_h})


@dataclass(frozen=True)
class Ablation:
    clamp: Clamp
    base: Trace
    clamped: Trace

    @property
    def d_output(self) -> np.ndarray:
        """(T, D·H): clamped − base output."""
        return self.clamped.output - self.base.output

    def d_state(self, layer: int, direction: int = 0) -> np.ndarray:
        """(T, H): clamped − base states of one layer and direction."""
        return self.clamped.layers[layer][direction].h - self.base.layers[layer][direction].h


def _splice(base: Trace, tail: Trace, s: int) -> Trace:
    """Steps < s from ``base``, the rest from ``tail`` (a unidirectional run from step s)."""
    layers = []
    for lb, lt in zip(base.layers, tail.layers):
        b, t = lb[0], lt[0]
        fields = {f: np.concatenate([getattr(b, f)[:s], getattr(t, f)]) for f in
                  ("x",) + STEP_FIELDS}
        layers.append((LayerTrace(layer=b.layer, reverse=False, reset_after=b.reset_after,
                                  h0=b.h0, **fields),))
    return Trace(layers=tuple(layers), output=np.concatenate([base.output[:s], tail.output]),
                 h_n=tail.h_n)


def ablate(model: GRUModel, x: np.ndarray, clamp: Clamp, h0=None) -> Ablation:
    """Run ``x`` (T, I) as is and with the clamp; both traces keep every step."""
    base = run(model, x, h0)
    T, s = base.steps, clamp.from_step
    if not (0 <= clamp.layer < model.num_layers and 0 <= clamp.direction < model.num_directions):
        raise InputError(f"There is no layer {clamp.layer}, direction {clamp.direction}.")
    if not 0 <= s < T:
        raise InputError(f"Step {s} is outside the sequence (0 to {T - 1}).")
    w = model.cells[clamp.layer][clamp.direction]
    clamped_model = model.replace_cell(clamp.layer, clamp.direction,
                                       clamp_weights(w, clamp.unit, clamp.gate, clamp.value))
    if s == 0:
        return Ablation(clamp, base, run(clamped_model, x, h0))
    if model.bidirectional:
        raise InputError("In a bidirectional model a clamp from a later step would change what "
                         "the reverse direction already read: clamp from step 0.")
    states = np.stack([layer[0].h[s - 1] for layer in base.layers])  # (L, H)
    return Ablation(clamp, base, _splice(base, run(clamped_model, np.asarray(x)[s:], states), s))


def head_outputs(trace: Trace, head: Head) -> np.ndarray:
    """The linear head's outputs (logits, or values for a regression head) at every step: (T, V)."""
    return linear(trace.output, *head)


def predictions(trace: Trace, head: Head) -> np.ndarray:
    """Softmax of the head's logits at every step: (T, V)."""
    return softmax(head_outputs(trace, head))


@dataclass(frozen=True)
class HeadChange:
    """What a clamp changes in the head's outputs at every step.

    classifier: the head scores the symbols (softmax probabilities compared, ``changed``
    counts the steps whose top symbol changes), else its raw outputs (``changed`` counts the
    outputs that change sign, as a regression head's held signs would)."""

    classifier: bool
    base: np.ndarray  # (T, V)
    clamped: np.ndarray  # (T, V)
    changed: int


def head_change(result: Ablation, head: Head, classifier: bool) -> HeadChange:
    """The head read out on the run with and without the clamp."""
    if classifier:
        base, new = predictions(result.base, head), predictions(result.clamped, head)
        return HeadChange(True, base, new, int((base.argmax(1) != new.argmax(1)).sum()))
    base, new = head_outputs(result.base, head), head_outputs(result.clamped, head)
    return HeadChange(False, base, new, int((np.sign(base) != np.sign(new)).sum()))
