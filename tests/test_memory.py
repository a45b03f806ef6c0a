"""Retention, half-lives and the kept/written split, against brute force and closed forms."""

import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from gru_viz.analysis import memory
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel


def bi_trace(seed=0, T=9):
    m = GRUModel.random(2, 3, 2, bidirectional=True, seed=seed).map(
        lambda w: w.replace(b_iz=w.b_iz + 2))  # z near 0.9: products stay readable
    return run(m, np.random.default_rng(seed).normal(size=(T, 2)))


@pytest.mark.parametrize("d", [0, 1])
def test_retention_is_the_product_of_z_over_the_following_steps(d):
    cell = bi_trace().layers[1][d]
    T, H = cell.z.shape
    R = memory.retention_to_end(cell)
    for t in range(T):
        later = range(t + 1, T) if d == 0 else range(0, t)  # reverse reads from the end
        want = np.prod([cell.z[s] for s in later], axis=0) if later else np.ones(H)
        np.testing.assert_allclose(R[t], want, rtol=1e-12)
    for u in range(H):
        M = memory.retention_matrix(cell, u)
        np.testing.assert_allclose(M[:, 0 if d else T - 1], R[:, u], rtol=1e-12)
        np.testing.assert_array_equal(np.diag(M), 1.0)
        assert np.isnan(M[np.tril_indices(T, -1) if d == 0 else np.triu_indices(T, 1)]).all()


def constant_z_trace(c, T=30):
    w = GRUModel.random(1, 2, seed=0).cells[0][0]
    logit = math.log(c / (1 - c))
    w = w.replace(W_iz=0 * w.W_iz, W_hz=0 * w.W_hz, b_iz=np.full(2, logit), b_hz=np.zeros(2))
    return run(GRUModel(((w,),)), np.ones((T, 1))).layers[0][0]


@pytest.mark.parametrize("c", [0.5, 0.8, 0.95])
def test_half_life_of_a_constant_update_gate(c):
    cell = constant_z_trace(c)
    T = cell.steps
    k = math.ceil(math.log(0.5) / math.log(c) - 1e-9)  # first k with c^k <= ½
    hl = memory.half_life_from(cell)
    np.testing.assert_array_equal(hl[: T - k, 0], k)
    assert np.isinf(hl[T - k:, 0]).all()
    table = memory.unit_table(cell)
    np.testing.assert_allclose(table["half-life (steps)"], math.log(0.5) / math.log(c))
    np.testing.assert_allclose(table["kept from the first step to the end"], c ** (T - 1))
    assert all(len(v) == 2 for v in table.values())
    from gru_viz.core.notation import COURSE

    course = memory.unit_table(cell, COURSE)  # the update gate's column in the course's terms
    np.testing.assert_allclose(course["mean Γu"], 1 - table["mean z"])
    assert list(course)[1] == "mean Γu" and "mean z" not in course


def test_split_reassembles_the_state():
    for cell in bi_trace(seed=3).cells():
        s = memory.split(cell)
        np.testing.assert_allclose(s.kept + s.added, cell.h, atol=1e-14)
        np.testing.assert_allclose(cell.h_prev + s.written, cell.h, atol=1e-14)


def test_a_closed_update_gate_forgets_at_once():
    cell = constant_z_trace(1e-300, T=5)  # z is 0 to double precision after the logit
    assert memory.retention_to_end(cell)[:-1].max() < 1e-200
    assert (memory.half_life_from(cell)[:-1] == 1).all()


def test_the_numpy_analyses_import_and_run_without_torch():
    """Dynamics, memory and ablation are NumPy; gradients imports torch only when called."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np\n"
            "from gru_viz import run, GRUModel\n"
            "from gru_viz.analysis import ablation, dynamics, gradients, memory\n"
            "w = dynamics.PLANE_PRESETS['bistable switch'].weights()\n"
            "assert len(dynamics.fixed_points(w, np.zeros(2))) == 3\n"
            "m = GRUModel.random(2, 3)\n"
            "memory.unit_table(run(m, np.ones((4, 2))).layers[0][0])\n"
            "ablation.ablate(m, np.ones((4, 2)), ablation.Clamp(0, 1, 'z', 1.0, 2))\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=pathlib.Path(__file__).resolve().parents[1])
