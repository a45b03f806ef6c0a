"""Course notation (Γ_u, Γ_r, c̃, c) conversions: round trips and identical states."""

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.errors import WeightsError
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import CourseWeights, GRUWeights


def course_reference(cw: CourseWeights, x, c):
    """The course equations (corrected last line: c<t-1>, not c̃<t-1>), step by step."""
    H = c.size
    out = []
    for x_t in x:
        cx = np.concatenate([c, x_t])
        gu = 1 / (1 + np.exp(-(cw.W_u @ cx + cw.b_u)))
        gr = 1 / (1 + np.exp(-(cw.W_r @ cx + cw.b_r)))
        if cw.reset_after:
            cand = np.tanh(cw.W_c[:, H:] @ x_t + cw.b_c + gr * (cw.W_c[:, :H] @ c + cw.b_cc))
        else:
            cand = np.tanh(cw.W_c @ np.concatenate([gr * c, x_t]) + cw.b_c)
        c = gu * cand + (1 - gu) * c
        out.append(c)
    return np.array(out)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_course_equations_give_the_same_states(reset_after, seed):
    m = GRUModel.random(3, 4, reset_after=reset_after, seed=seed)
    w = m.cells[0][0]
    x, h0 = np.random.default_rng(seed).normal(size=(10, 3)), np.full(4, 0.3)
    np.testing.assert_allclose(course_reference(w.to_course(), x, h0), run(m, x, h0[None]).output,
                               atol=1e-12)
    tr = run(m, x, h0[None]).layers[0][0]
    cw = w.to_course()
    cx = np.concatenate([tr.h_prev, x], axis=1)
    np.testing.assert_allclose(1 / (1 + np.exp(-(cx @ cw.W_u.T + cw.b_u))), 1 - tr.z, atol=1e-12)


@pytest.mark.parametrize("reset_after", [True, False])
def test_round_trips(reset_after):
    w = GRUModel.random(3, 4, reset_after=reset_after, seed=9).cells[0][0]
    cw = w.to_course()
    back = cw.to_torch()
    # course -> torch -> course is exact; torch -> course -> torch gives the same model
    again = back.to_course()
    for f in ("W_u", "b_u", "W_r", "b_r", "W_c", "b_c", "b_cc"):
        np.testing.assert_array_equal(getattr(again, f), getattr(cw, f))
    x = np.random.default_rng(1).normal(size=(8, 3))
    np.testing.assert_allclose(run(GRUModel(((back,),)), x).output,
                               run(GRUModel(((w,),)), x).output, atol=1e-13)
    assert back.reset_after == reset_after


def test_fused_round_trip_and_shape_errors():
    w = GRUModel.random(2, 3, seed=0).cells[0][0]
    assert GRUWeights.from_fused(**w.fused()).equals(w)
    with pytest.raises(WeightsError, match=r"W_hz has shape \(3, 2\), expected \(3, 3\)"):
        w.replace(W_hz=np.zeros((3, 2)))
    with pytest.raises(WeightsError, match="weight_ih"):
        GRUWeights.from_fused(np.zeros((6, 2)), np.zeros((9, 3)))
    with pytest.raises(WeightsError, match="b_cc must be zero"):
        CourseWeights(W_u=np.zeros((1, 2)), b_u=np.zeros(1), W_r=np.zeros((1, 2)), b_r=np.zeros(1),
                      W_c=np.zeros((1, 2)), b_c=np.zeros(1), b_cc=np.ones(1), reset_after=False)
