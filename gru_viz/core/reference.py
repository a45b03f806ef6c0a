"""The GRU step as a textbook writes it: the place to read what the fast engine computes.

``gru_viz.core.engine.run_layer_numpy`` computes exactly this (tested to 1e-12 in float64), only
rearranged for speed. One layer, one direction, one sequence; x (I,), h (H,) -> the new state.

    r = σ(W_ir x + b_ir + W_hr h + b_hr)                     reset gate
    z = σ(W_iz x + b_iz + W_hz h + b_hz)                     update gate: share of h kept
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))            candidate, reset after (PyTorch)
    n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)            candidate, reset before (Cho 2014,
                                                             Keras reset_after=False)
    h' = (1 − z) ⊙ n + z ⊙ h
"""

from __future__ import annotations

import numpy as np

from gru_viz.core.weights import GRUWeights


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def step(w: GRUWeights, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """One step of the four equations above; ``w.reset_after`` picks the candidate's form."""
    r = sigmoid(w.W_ir @ x + w.b_ir + w.W_hr @ h + w.b_hr)
    z = sigmoid(w.W_iz @ x + w.b_iz + w.W_hz @ h + w.b_hz)
    if w.reset_after:
        n = np.tanh(w.W_in @ x + w.b_in + r * (w.W_hn @ h + w.b_hn))
    else:
        n = np.tanh(w.W_in @ x + w.b_in + w.W_hn @ (r * h) + w.b_hn)
    return (1 - z) * n + z * h


def states(w: GRUWeights, xs: np.ndarray, h0: np.ndarray, reverse: bool = False) -> np.ndarray:
    """xs (T, I) -> h (T, H), h[t] the state after reading xs[t] (read from the end if reverse)."""
    hs, h = [None] * len(xs), h0
    for t in reversed(range(len(xs))) if reverse else range(len(xs)):
        hs[t] = h = step(w, xs[t], h)
    return np.array(hs).reshape(len(xs), len(h0))
