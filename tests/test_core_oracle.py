"""The NumPy and torch engines against torch.nn.GRU / GRUCell as the oracle."""

import itertools

import numpy as np
import pytest
import torch

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.torch_engine import run_torch
from tests.torch_helpers import model_of, torch_gru

CASES = list(itertools.product([0, 1, 2], [1, 2], [False, True], [True, False], [1, 3]))


@pytest.mark.parametrize("seed,L,bi,bias,B", CASES)
def test_numpy_engine_equals_torch_gru_float64(seed, L, bi, bias, B):
    I, H, T, D = 3, 5, 9, 2 if bi else 1
    g = torch_gru(I, H, L, bi, bias, seed)
    torch.manual_seed(100 + seed)
    x = torch.randn(B, T, I, dtype=torch.float64) * 2
    h0 = torch.randn(L * D, B, H, dtype=torch.float64)
    out, h_n = g(x, h0)
    tr = run(model_of(g), x.numpy(), h0.numpy())
    assert np.abs(tr.output - out.detach().numpy()).max() <= 1e-10
    assert np.abs(tr.h_n - h_n.detach().numpy()).max() <= 1e-10
    # every layer's recorded h is what the layer fed on
    for k in range(1, L):
        prev = np.concatenate([c.h for c in tr.layers[k - 1]], axis=-1)
        for c in tr.layers[k]:
            np.testing.assert_array_equal(c.x, prev)


@pytest.mark.parametrize("seed,L,bi", [(0, 1, False), (1, 2, True), (2, 3, False)])
def test_float32_within_1e5_of_torch(seed, L, bi):
    g = torch_gru(4, 16, L, bi, True, seed, dtype=torch.float32)
    x = torch.randn(2, 50, 4)
    out, h_n = g(x)
    tr = run(model_of(g).astype(np.float32), x.numpy())
    assert tr.output.dtype == np.float32
    assert np.abs(tr.output - out.detach().numpy()).max() <= 1e-5
    assert np.abs(tr.h_n - h_n.detach().numpy()).max() <= 1e-5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unbatched_sequence_equals_torch_unbatched(seed):
    g = torch_gru(2, 4, 2, True, True, seed)
    x = torch.randn(6, 2, dtype=torch.float64)
    h0 = torch.randn(4, 4, dtype=torch.float64)
    out, h_n = g(x, h0)
    tr = run(model_of(g), x.numpy(), h0.numpy())
    assert tr.output.shape == (6, 8) and tr.h_n.shape == (4, 4)
    assert tr.layers[1][1].r.shape == (6, 4)
    assert np.abs(tr.output - out.detach().numpy()).max() <= 1e-10
    assert np.abs(tr.h_n - h_n.detach().numpy()).max() <= 1e-10


@pytest.mark.parametrize("seed,bias", [(0, True), (1, False), (2, True)])
def test_single_steps_equal_gru_cell(seed, bias):
    torch.manual_seed(seed)
    cell = torch.nn.GRUCell(3, 6, bias=bias).double()
    x = torch.randn(4, 10, 3, dtype=torch.float64)
    h = torch.randn(4, 6, dtype=torch.float64)
    tr = run(model_of(cell), x.numpy(), h[None].numpy())
    for t in range(10):
        h = cell(x[:, t], h)
        assert np.abs(tr.output[:, t] - h.detach().numpy()).max() <= 1e-10


@pytest.mark.parametrize("seed,L,bi,bias", [(0, 1, False, True), (1, 2, True, False)])
def test_gates_reassemble_the_state(seed, L, bi, bias):
    g = torch_gru(3, 5, L, bi, bias, seed)
    x = np.random.default_rng(seed).normal(size=(2, 8, 3))
    tr = run(model_of(g), x, np.random.default_rng(seed + 1).normal(size=(L * (1 + bi), 2, 5)))
    for c in tr.cells():
        np.testing.assert_allclose(c.h, (1 - c.z) * c.n + c.z * c.h_prev, rtol=0, atol=1e-15)
        np.testing.assert_allclose(c.r, 1 / (1 + np.exp(-c.a_r)), atol=1e-15)
        np.testing.assert_allclose(c.z, 1 / (1 + np.exp(-c.a_z)), atol=1e-15)
        np.testing.assert_allclose(c.n, np.tanh(c.a_n), atol=1e-15)


def test_recorded_pre_activations_match_the_weights():
    g = torch_gru(3, 4, 1, True, True, 7)
    m = model_of(g)
    x = np.random.default_rng(7).normal(size=(6, 3))
    tr = run(m, x)
    for c, w in zip(tr.layers[0], m.cells[0]):
        hp = c.h_prev
        np.testing.assert_allclose(c.a_r, x @ w.W_ir.T + w.b_ir + hp @ w.W_hr.T + w.b_hr, atol=1e-13)
        np.testing.assert_allclose(c.a_z, x @ w.W_iz.T + w.b_iz + hp @ w.W_hz.T + w.b_hz, atol=1e-13)
        np.testing.assert_allclose(c.hn, c.r * (hp @ w.W_hn.T + w.b_hn), atol=1e-13)
        np.testing.assert_allclose(c.a_n, x @ w.W_in.T + w.b_in + c.hn, atol=1e-13)


@pytest.mark.parametrize("L,bi,B,ra", [(1, False, 1, True), (2, True, 3, True), (2, True, 2, False)])
def test_torch_engine_equals_numpy_engine(L, bi, B, ra):
    m = GRUModel.random(3, 5, L, bi, reset_after=ra, seed=L + B)
    x = np.random.default_rng(0).normal(size=(B, 7, 3))
    a, b = run(m, x), run_torch(m, torch.as_tensor(x))
    for ca, cb in zip(a.cells(), b.cells()):
        for f in ("a_r", "a_z", "a_n", "r", "z", "hn", "n", "h"):
            assert np.abs(getattr(ca, f) - getattr(cb, f).detach().numpy()).max() <= 1e-12, f
    assert np.abs(a.h_n - b.h_n.numpy()).max() <= 1e-12


def test_torch_engine_gradients_match_torch_gru():
    g = torch_gru(2, 3, 2, True, True, 3)
    x = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    out, _ = g(x)
    (gx,) = torch.autograd.grad(out[-1].sum(), x)
    x2 = x.detach().clone().requires_grad_(True)
    tr = run_torch(model_of(g), x2)
    (gx2,) = torch.autograd.grad(tr.output[-1].sum(), x2)
    assert torch.allclose(gx, gx2, atol=1e-12, rtol=0)


def test_trace_is_read_only():
    tr = run(GRUModel.random(2, 3), np.ones((4, 2)))
    with pytest.raises(ValueError):
        tr.layers[0][0].z[0, 0] = 1.0
    with pytest.raises(ValueError):
        tr.output[0, 0] = 1.0
    with pytest.raises(AttributeError):
        tr.layers[0][0].z = None


def test_run_leaves_the_callers_arrays_writable():
    x, h0 = np.ones((2, 4, 2)), np.zeros((1, 2, 3))
    run(GRUModel.random(2, 3), x, h0)
    assert x.flags.writeable and h0.flags.writeable
