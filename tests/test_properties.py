"""Invariants of every run, for random models and inputs (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel

shapes = st.tuples(st.integers(0, 6), st.integers(1, 4), st.integers(1, 5), st.integers(1, 2),
                   st.booleans(), st.booleans(), st.integers(0, 2**16), st.sampled_from([1.0, 5.0]))


@settings(max_examples=60, deadline=None)
@given(shapes)
def test_invariants(params):
    T, I, H, L, bi, ra, seed, scale = params
    m = GRUModel.random(I, H, L, bi, reset_after=ra, seed=seed).map(
        lambda w: w.replace(**{n: getattr(w, n) * scale for n in ("W_ir", "W_hz", "W_hn")}))
    x = np.random.default_rng(seed).normal(size=(T, I)) * scale
    tr = run(m, x)
    D = 2 if bi else 1
    assert tr.output.shape == (T, D * H) and tr.h_n.shape == (L * D, H)
    for c in tr.cells():
        for f in ("r", "z"):
            g = getattr(c, f)
            assert g.shape == (T, H) and ((g >= 0) & (g <= 1)).all()
        assert ((c.n >= -1) & (c.n <= 1)).all()
        assert np.isfinite(c.h).all() and (np.abs(c.h) <= 1 + 1e-12).all()
        np.testing.assert_allclose(c.h, (1 - c.z) * c.n + c.z * c.h_prev, atol=1e-14)
        if T:
            assert np.array_equal(c.h[0 if c.reverse else -1], tr.h_n[c.layer * D + c.reverse])
        else:
            assert np.array_equal(tr.h_n[c.layer * D + c.reverse], c.h0)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 1000))
def test_a_batch_equals_its_sequences_run_one_by_one(B, H, seed):
    m = GRUModel.random(2, H, 2, True, seed=seed)
    x = np.random.default_rng(seed).normal(size=(B, 5, 2))
    tr = run(m, x)
    for b in range(B):
        np.testing.assert_allclose(run(m, x[b]).output, tr.output[b], atol=1e-14)
