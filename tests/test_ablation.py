"""Clamping a gate: exact gate values, untouched past, and a step-by-step reference run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.analysis import ablation as ab
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel


def model(L=2, bi=False, reset_after=True, seed=0):
    return GRUModel.random(2, 4, L, bi, reset_after=reset_after, seed=seed).map(
        lambda w: w.replace(W_hn=w.W_hn * 3, W_in=w.W_in * 3))


def xs(T=10, seed=0):
    return np.random.default_rng(seed).normal(size=(T, 2))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1), st.integers(0, 3), st.integers(0, 9), st.booleans(), st.integers(0, 99))
def test_z_equal_one_from_step_s_keeps_the_unit_constant(layer, unit, s, reset_after, seed):
    m, x = model(reset_after=reset_after, seed=seed), xs(seed=seed)
    a = ab.ablate(m, x, ab.Clamp(layer, unit, "z", 1.0, from_step=s))
    c = a.clamped.layers[layer][0]
    assert (c.z[s:, unit] == 1).all()
    before = c.h0[unit] if s == 0 else c.h[s - 1, unit]
    np.testing.assert_allclose(c.h[s:, unit], before, rtol=0, atol=1e-15)
    for k in range(2):  # the past is untouched
        np.testing.assert_array_equal(a.clamped.layers[k][0].h[:s], a.base.layers[k][0].h[:s])


@pytest.mark.parametrize("gate,value", [("z", 0.0), ("z", 0.3), ("r", 0.0), ("r", 1.0),
                                        ("r", 0.75)])
@pytest.mark.parametrize("reset_after", [True, False])
def test_clamp_equals_a_step_by_step_run_with_switched_weights(gate, value, reset_after):
    """Reference: one-step runs of the core, switching to the clamped cell at step s."""
    m, x, s = model(reset_after=reset_after), xs(), 4
    clamp = ab.Clamp(1, 2, gate, value, from_step=s)
    a = ab.ablate(m, x, clamp)
    g = a.clamped.layers[1][0]
    np.testing.assert_allclose(getattr(g, gate)[s:, 2], value, rtol=0, atol=1e-15)
    switched = m.replace_cell(1, 0, ab.clamp_weights(m.cells[1][0], 2, gate, value))
    h = np.zeros((2, 4))
    for t in range(len(x)):
        h = run(switched if t >= s else m, x[t:t + 1], h0=h).h_n
        np.testing.assert_allclose(a.clamped.output[t], h[-1], atol=1e-14)
    assert np.abs(a.d_output[s:]).max() > 1e-6 and not a.d_output[:s].any()


def test_a_closed_reset_gate_cuts_the_past_from_the_candidate():
    m, x = model(L=1), xs()
    a = ab.ablate(m, x, ab.Clamp(0, 1, "r", 0.0))
    c, w = a.clamped.layers[0][0], m.cells[0][0]
    assert not c.hn[:, 1].any()
    np.testing.assert_allclose(c.n[:, 1], np.tanh(x @ w.W_in[1] + w.b_in[1]), atol=1e-15)


def test_bidirectional_clamps_from_the_start_only():
    m, x = model(bi=True), xs()
    a = ab.ablate(m, x, ab.Clamp(0, 0, "z", 1.0, direction=1))
    r = a.clamped.layers[0][1]
    np.testing.assert_allclose(r.h[:, 0], r.h0[0], atol=1e-15)  # never writes: keeps h0
    with pytest.raises(InputError, match="bidirectional"):
        ab.ablate(m, x, ab.Clamp(0, 0, "z", 1.0, from_step=3))


@pytest.mark.parametrize("clamp,msg", [
    (ab.Clamp(0, 0, "n", 1.0), "Only the update gate"),
    (ab.Clamp(0, 7, "z", 1.0), "Unit 7"),
    (ab.Clamp(0, 0, "z", 1.5), "between 0 and 1"),
    (ab.Clamp(0, 0, "z", 1.0, from_step=10), "outside the sequence"),
    (ab.Clamp(3, 0, "z", 1.0), "no layer 3"),
])
def test_bad_clamps_are_user_errors(clamp, msg):
    with pytest.raises(InputError, match=msg):
        ab.ablate(model(), xs(), clamp)


def test_predictions_are_distributions():
    m, x = model(), xs()
    head = (np.random.default_rng(0).normal(size=(3, 4)), np.zeros(3))
    p = ab.predictions(ab.ablate(m, x, ab.Clamp(1, 0, "z", 1.0, 2)).clamped, head)
    assert p.shape == (10, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    out = ab.head_outputs(run(m, x), head)  # softmax is monotone in each step's outputs
    np.testing.assert_array_equal(ab.predictions(run(m, x), head).argmax(1), out.argmax(1))


def test_head_change_counts_top_symbol_changes_or_sign_changes():
    m = GRUModel.random(2, 3, seed=4)
    x = np.random.default_rng(4).normal(size=(6, 2))
    result = ab.ablate(m, x, ab.Clamp(0, 1, "z", 0.0))
    head = (np.random.default_rng(5).normal(size=(4, 3)), np.zeros(4))
    cls = ab.head_change(result, head, classifier=True)
    np.testing.assert_allclose(cls.base.sum(1), 1)
    assert cls.changed == int((cls.base.argmax(1) != cls.clamped.argmax(1)).sum())
    reg = ab.head_change(result, head, classifier=False)
    np.testing.assert_array_equal(reg.base, ab.head_outputs(result.base, head))
    assert reg.changed == int((np.sign(reg.base) != np.sign(reg.clamped)).sum())
    assert not reg.classifier and cls.classifier
