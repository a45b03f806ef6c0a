"""The reset-before variant against a reference written straight from its equations."""

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.torch_engine import run_torch


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def reference(w, x, h):
    """Cho et al. 2014 / ONNX linear_before_reset=0, one step at a time, unoptimised."""
    hs = []
    for x_t in x:
        r = sigmoid(w.W_ir @ x_t + w.b_ir + w.W_hr @ h + w.b_hr)
        z = sigmoid(w.W_iz @ x_t + w.b_iz + w.W_hz @ h + w.b_hz)
        n = np.tanh(w.W_in @ x_t + w.b_in + w.W_hn @ (r * h) + w.b_hn)
        h = (1 - z) * n + z * h
        hs.append(h)
    return np.array(hs)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_reset_before_equals_reference(seed):
    rng = np.random.default_rng(seed)
    m = GRUModel.random(3, 5, reset_after=False, seed=seed).map(
        lambda w: w.replace(**{n: getattr(w, n) * 3 for n in ("W_hn", "W_hr", "b_hn")}))
    x, h0 = rng.normal(size=(12, 3)), rng.normal(size=5)
    tr = run(m, x, h0[None])
    want = reference(m.cells[0][0], x, h0)
    assert np.abs(tr.output - want).max() <= 1e-12
    w, c = m.cells[0][0], tr.layers[0][0]
    np.testing.assert_allclose(c.hn, (c.r * c.h_prev) @ w.W_hn.T + w.b_hn, atol=1e-13)
    assert np.abs(run_torch(m, x, h0[None]).output.numpy() - want).max() <= 1e-12


def test_the_two_placements_differ_when_the_reset_gate_matters():
    m = GRUModel.random(2, 4, seed=5)
    x = np.random.default_rng(5).normal(size=(10, 2))
    h0 = np.ones((1, 4))
    a, b = run(m, x, h0), run(m.with_reset_after(False), x, h0)
    assert np.abs(a.output - b.output).max() > 1e-3
