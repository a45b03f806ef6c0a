"""The fast engine computes the textbook equations of gru_viz.core.reference (float64, 1e-12)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.core import reference
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel


def reference_model(model: GRUModel, x: np.ndarray) -> np.ndarray:
    """The whole stack from the reference step, torch.nn.GRU's wiring: x (T, I) -> (T, D·H)."""
    inp = x
    for cells in model.cells:
        inp = np.concatenate([reference.states(w, inp, np.zeros(w.hidden_size), reverse=d == 1)
                              for d, w in enumerate(cells)], axis=-1)
    return inp


cases = st.tuples(st.integers(0, 7), st.integers(1, 4), st.integers(1, 6), st.integers(1, 3),
                  st.booleans(), st.booleans(), st.booleans(), st.integers(0, 2**16),
                  st.sampled_from([1.0, 4.0]))


@settings(max_examples=80, deadline=None)
@given(cases)
def test_fast_engine_equals_reference(params):
    T, I, H, L, bi, ra, bias, seed, scale = params
    m = GRUModel.random(I, H, L, bi, bias=bias, reset_after=ra, seed=seed).map(
        lambda w: w.replace(**{n: getattr(w, n) * scale for n in ("W_ir", "W_hz", "W_hn",
                                                                   "b_hn", "b_in")}))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, I)) * scale
    tr = run(m, x)
    assert np.abs(tr.output - reference_model(m, x)).max(initial=0) <= 1e-12
    for c in tr.cells():  # every cell from its recorded input and a random start
        w = m.cells[c.layer][c.reverse]
        h = reference.states(w, np.asarray(c.x), np.asarray(c.h0), reverse=c.reverse)
        assert np.abs(c.h - h).max(initial=0) <= 1e-12


def test_reference_step_by_hand():
    """H = I = 1, all weights 1, biases 0 but b_hn = 1: r = z = σ(x + h); the placements differ."""
    w = GRUModel.random(1, 1, seed=0).cells[0][0]
    ones = {n: np.ones_like(getattr(w, n)) for n in ("W_ir", "W_iz", "W_in", "W_hr", "W_hz",
                                                     "W_hn")}
    zeros = {n: np.zeros_like(getattr(w, n)) for n in ("b_ir", "b_iz", "b_in", "b_hr", "b_hz",
                                                       "b_hn")}
    w = w.replace(**ones, **zeros | {"b_hn": np.ones(1)})
    x, h = np.array([0.5]), np.array([0.25])
    s = 1 / (1 + np.exp(-0.75))
    after = np.tanh(0.5 + s * (0.25 + 1))  # r ⊙ (W_hn h + b_hn)
    before = np.tanh(0.5 + s * 0.25 + 1)  # W_hn (r ⊙ h) + b_hn
    for ra, n in ((True, after), (False, before)):
        wr = w.replace(reset_after=ra)
        assert np.allclose(reference.step(wr, x, h), (1 - s) * n + s * 0.25)
        tr = run(GRUModel(((wr,),)), x[None], h[None])
        assert np.allclose(tr.output[0], (1 - s) * n + s * 0.25)
