"""Gradients through time against finite differences of the NumPy core and of torch modules."""

import numpy as np
import pytest
import torch

from gru_viz.analysis import gradients as gr
from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel


def model(L=2, bi=True, reset_after=True, seed=0, H=3, I=2):
    return GRUModel.random(I, H, L, bi, reset_after=reset_after, seed=seed).map(
        lambda w: w.replace(W_hn=w.W_hn * 3, W_hz=w.W_hz * 3))


def x_of(T=7, I=2, seed=0):
    return np.random.default_rng(seed).normal(size=(T, I))


def rel_err(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b)


def fd_input_grad(f, x, eps=1e-5):
    """Central differences of the scalar f(x) w.r.t. every entry of x (T, I)."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        g[idx] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


@pytest.mark.parametrize("reset_after", [True, False])
def test_probed_run_is_the_core_run(reset_after):
    m, x = model(reset_after=reset_after), x_of()
    out, probes = gr.probed_run(m, torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), run(m, x).output, atol=1e-13)
    assert probes.shape == (4, 7, 3) and not probes.detach().any()


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("target", [gr.Target(4, unit=5), gr.Target(6, unit=0),
                                    gr.Target(2, symbol=1)])
def test_input_gradients_equal_finite_differences_of_the_numpy_core(reset_after, target):
    m, x = model(reset_after=reset_after), x_of()
    rng = np.random.default_rng(1)
    head = (rng.normal(size=(4, 6)), rng.normal(size=4))

    def y(xx):
        o = run(m, xx).output[target.step]
        return o[target.unit] if target.symbol is None else head[0][target.symbol] @ o \
            + head[1][target.symbol]

    c = gr.gru_connectivity(m, x, target, head=head)
    want = np.linalg.norm(fd_input_grad(y, x), axis=1)
    assert rel_err(c.inputs, want) <= 1e-6


@pytest.mark.parametrize("L", [1, 2])
def test_state_gradients_equal_finite_differences_of_the_numpy_core(L):
    """Perturb the top layer's state at step s, continue the core run from there."""
    m, x, t, unit = model(L=L, bi=False), x_of(T=8), 6, 1
    states = np.stack([c.h for c in run(m, x).cells()])  # (L, T, H)
    c = gr.gru_connectivity(m, x, gr.Target(t, unit=unit))
    eps = 1e-6
    for s in range(t):
        g = []
        for j in range(3):
            h0 = states[:, s].copy()
            ys = []
            for sign in (1, -1):
                h0[-1, j] = states[-1, s, j] + sign * eps
                ys.append(run(m, x[s + 1:t + 1], h0=h0).output[-1, unit])
            g.append((ys[0] - ys[1]) / (2 * eps))
        assert abs(c.states[-1, s] - np.linalg.norm(g)) <= 1e-6 * max(np.linalg.norm(g), 1e-12)
    assert c.states[-1, t] == pytest.approx(1.0)  # ∂h_t[unit]/∂h_t is a unit vector
    assert not c.states[:, t + 1:].any() and not c.inputs[t + 1:].any()  # causal


def test_state_gradients_of_a_one_layer_model_match_everywhere():
    m, x = model(L=1, bi=False, seed=4), x_of(T=6, seed=4)
    st = [c.h for c in run(m, x).cells()][0]
    c = gr.gru_connectivity(m, x, gr.Target(5, unit=2))

    def y_from(s):
        return lambda h: run(m, x[s + 1:6], h0=h).output[-1, 2]

    for s in range(5):
        g = fd_input_grad(y_from(s), st[s][None].copy(), eps=1e-6)
        assert rel_err(c.states[0, s:s + 1], np.linalg.norm(g, axis=1)) <= 1e-6


@pytest.mark.parametrize("kind", ["vanilla RNN", "LSTM"])
def test_baselines_match_finite_differences_of_their_module(kind):
    m, x = model(L=2, bi=True), x_of()
    target = gr.Target(3, unit=4)
    c = gr.module_connectivity(kind, m, x, target, seed=3)
    mod = gr.baseline_module(kind, m, seed=3)

    def y(xx):
        with torch.no_grad():
            return mod(torch.tensor(xx)[None])[0][0, 3, 4].item()

    assert rel_err(c.inputs, np.linalg.norm(fd_input_grad(y, x), axis=1)) <= 1e-6
    assert c.inputs[4:].any()  # the reverse direction reads the later inputs


def test_parameter_counts_follow_the_gate_count():
    I, H, L = 5, 7, 2
    m = GRUModel.random(I, H, L, bidirectional=True)
    per_gate = [(H * I + H * H + 2 * H) * 2, (H * 2 * H + H * H + 2 * H) * 2]  # two directions
    out = gr.compare(m, np.ones((4, I)), gr.Target(3, unit=0), timing=False)
    assert [c.kind for c in out] == list(gr.ARCHITECTURES)
    assert [c.parameters for c in out] == [g * sum(per_gate) for g in (3, 1, 4)]
    assert out[0].states.shape == (2 * L, 4)


@pytest.mark.parametrize("onednn", [True, False])
def test_time_per_step_is_measured_and_leaves_the_module_usable(onednn):
    m = gr.baseline_module("GRU", model(L=1, bi=False))
    assert 0 < gr.seconds_per_step(m, 2, steps=20, repeats=2, onednn=onednn) < 1
    assert torch.backends.mkldnn.enabled  # the flag is restored
    threads = torch.get_num_threads()
    gr.seconds_per_step(m, 2, steps=5, repeats=1, threads=1)
    assert torch.get_num_threads() == threads  # and so is the thread count


def test_random_baselines_scale_like_the_gru():
    m = model(L=1, bi=False)
    a = dict(gr.baseline_module("LSTM", m, seed=2).named_parameters())
    b = dict(gr.baseline_module("LSTM", m, seed=2, weight_scale=3.0).named_parameters())
    for name in a:
        factor = 3.0 if name.startswith("weight") else 1.0
        torch.testing.assert_close(b[name], a[name] * factor)


def test_a_trained_state_dict_is_used():
    m = model(L=1, bi=False)
    rnn = torch.nn.RNN(2, 3, batch_first=True).double()
    sd = {k: v.detach().numpy() * 0 for k, v in rnn.state_dict().items()}
    c = gr.module_connectivity("vanilla RNN", m, x_of(), gr.Target(5, unit=0), state=sd)
    assert not c.inputs.any()  # all-zero weights: the output ignores the input


@pytest.mark.parametrize("target,head,msg", [
    (gr.Target(9, unit=0), None, "outside the sequence"),
    (gr.Target(1, unit=6), None, "outside the output"),
    (gr.Target(1, symbol=0), None, "no output head"),
    (gr.Target(1), None, "either a unit"),
])
def test_bad_targets_are_user_errors(target, head, msg):
    with pytest.raises(InputError, match=msg):
        gr.gru_connectivity(model(), x_of(), target, head=head)
