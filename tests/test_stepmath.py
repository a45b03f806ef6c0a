"""The numbers the step-through page shows equal the core's recorded trace."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.teaching.stepmath import (
    dominant,
    equation_tex,
    equations_block,
    equations_tex,
    explain,
    from_trace,
)


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 5), I=st.integers(1, 4), T=st.integers(1, 6), seed=st.integers(0, 999),
       reset_after=st.booleans(), course=st.booleans())
def test_every_step_equals_the_trace(H, I, T, seed, reset_after, course):
    nt = COURSE if course else PYTORCH
    model = GRUModel.random(I, H, reset_after=reset_after, seed=seed)
    x = np.random.default_rng(seed).normal(size=(T, I)) * 2
    cell = run(model, x, np.full((1, H), 0.3)).layers[0][0]
    w = model.cells[0][0]
    for t in range(T):
        m = from_trace(w, cell, t, nt)
        np.testing.assert_allclose(m.update.value, nt.update_values(cell.z[t]), atol=1e-12)
        np.testing.assert_allclose(m.reset.value, cell.r[t], atol=1e-12)
        np.testing.assert_allclose(m.candidate.value, cell.n[t], atol=1e-12)
        np.testing.assert_allclose(m.state.value, cell.h[t], atol=1e-12)
        # the shown pre-activations are the recorded ones (course: Γu's is −a_z)
        np.testing.assert_allclose(m.update.pre, -cell.a_z[t] if course else cell.a_z[t],
                                   atol=1e-12)
        np.testing.assert_allclose(m.candidate.pre, cell.a_n[t], atol=1e-12)
        rec = next(term for term in m.candidate.terms if term.role == "recurrent")
        np.testing.assert_allclose(rec.value, cell.hn[t] - (0 if reset_after else w.b_hn),
                                   atol=1e-12)
        kept = next(term for term in m.state.terms if term.role == "kept")
        np.testing.assert_allclose(kept.value, cell.z[t] * cell.h_prev[t], atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_tex_shows_the_numbers(reset_after):
    model = GRUModel.random(2, 2, reset_after=reset_after, seed=3)
    cell = run(model, np.array([[0.5, -1.0], [1.0, 0.25]])).layers[0][0]
    m = from_trace(model.cells[0][0], cell, 1, PYTORCH)
    full = equation_tex(m.candidate)
    assert r"\tanh" in full and "bmatrix" in full
    for v in m.candidate.value:
        assert f"{v:.2f}".lstrip("-") in full
    one = equation_tex(m.update, unit=1)
    assert f"{m.update.value[1]:.2f}" in one and r"\underbrace" in one
    assert (r"r_t \odot (W_{hn}" in full) == reset_after


def test_course_equations_use_the_previous_state():
    for ra in (True, False):
        last = equations_tex(COURSE, ra)[-1]
        assert last.endswith(r"(1 - \Gamma_u) \odot c^{\langle t-1 \rangle}")
        assert r"\tilde{c}^{\langle t-1" not in last
    assert equations_block(PYTORCH, True).count("&=") == 4


def test_dominant_term_and_explanations():
    model = GRUModel.random(1, 2, seed=0)
    w = model.cells[0][0].replace(b_iz=np.array([5.0, 0.0]), b_hz=np.zeros(2))
    model = GRUModel(((w,),))
    cell = run(model, np.array([[0.1]])).layers[0][0]
    m = from_trace(w, cell, 0, PYTORCH)
    assert dominant(m.update, 0).role == "bias"
    assert "bias" in explain(m.update, 0)
    share = cell.z[0, 1]
    assert f"keeps {share:.0%}" in explain(m.state, 1)
