"""Fixed points, slow points and the step map's Jacobian, against independent oracles."""

import itertools
import pathlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gru_viz.analysis import dynamics as dy
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel

ZERO2 = np.zeros(2)


def random_cell(I, H, seed, scale, reset_after=True):
    w = GRUModel.random(I, H, reset_after=reset_after, seed=seed).cells[0][0]
    return w.replace(**{n: getattr(w, n) * scale for n in
                        ("W_hr", "W_hz", "W_hn", "b_ir", "b_iz", "b_in")})


def fd_jacobian(w, x, h, eps=1e-6):
    return np.stack([(dy.step_map(w, x, h + eps * e) - dy.step_map(w, x, h - eps * e)) / (2 * eps)
                     for e in np.eye(h.shape[1])], axis=-1)


@pytest.mark.parametrize("reset_after", [True, False])
def test_jacobian_equals_finite_differences(reset_after):
    w = random_cell(3, 5, seed=3, scale=4.0, reset_after=reset_after)
    x = np.array([0.3, -1.0, 0.5])
    h = np.random.default_rng(0).uniform(-1, 1, (6, 5))
    np.testing.assert_allclose(dy.jacobian(w, x, h), fd_jacobian(w, x, h), atol=1e-8)


def test_step_map_is_one_step_of_run():
    w = random_cell(2, 3, seed=1, scale=2.0)
    h = np.random.default_rng(1).uniform(-1, 1, (4, 3))
    x = np.array([0.5, -0.25])
    for hi, Fi in zip(h, dy.step_map(w, x, h)):
        np.testing.assert_allclose(Fi, run(GRUModel(((w,),)), x[None], h0=hi[None]).h_n[0],
                                   atol=1e-15)


EXPECTED = {  # preset -> counts of each kind at zero input
    "single attractor": {"stable": 1},
    "bistable switch": {"stable": 2, "saddle": 1},
    "four states (2 bits)": {"stable": 4, "saddle": 4, "unstable": 1},
    "four states, slow update": {"stable": 4, "saddle": 4, "unstable": 1},
    "slow line": {"stable": 1},
    "oscillation": {"unstable": 1},
}


def index_sum(w, x, points):
    """Σ sign det(J − I): +1 for nodes and spirals, −1 for saddles. G = F − h points inwards on a
    large box (|F| < 1), so by Poincaré–Hopf the sum over all fixed points is +1."""
    J = dy.jacobian(w, x, np.array([p.h for p in points]))
    return int(np.sum(np.sign(np.linalg.det(J - np.eye(J.shape[-1])))))


@pytest.mark.parametrize("name", list(dy.PLANE_PRESETS))
def test_presets_have_the_fixed_points_they_promise(name):
    w = dy.PLANE_PRESETS[name].weights()
    pts = dy.fixed_points(w, ZERO2)
    kinds = {k: [p.kind for p in pts].count(k) for k in dy.POINT_KINDS}
    assert {k: v for k, v in kinds.items() if v} == EXPECTED[name]
    for p in pts:
        assert np.max(np.abs(dy.step_map(w, ZERO2, p.h[None])[0] - p.h)) <= 1e-10
    assert index_sum(w, ZERO2, pts) == 1


def test_slow_update_moves_the_eigenvalues_towards_one_not_the_points():
    fast = dy.fixed_points(dy.PLANE_PRESETS["four states (2 bits)"].weights(), ZERO2)
    slow = dy.fixed_points(dy.PLANE_PRESETS["four states, slow update"].weights(), ZERO2)
    np.testing.assert_allclose([p.h for p in fast], [p.h for p in slow], atol=1e-12)
    for f, s in zip(fast, slow):
        assert abs(s.slowest - 1) < abs(f.slowest - 1)


def roots_1d(k, b):
    """All roots of tanh(k h + b) = h by sign changes on a fine grid, then bisection."""
    g = np.linspace(-1, 1, 20001)
    f = np.tanh(k * g + b) - g
    roots = []
    for i in np.flatnonzero(np.sign(f[:-1]) != np.sign(f[1:])):
        lo, hi = g[i], g[i + 1]
        for _ in range(80):
            mid = (lo + hi) / 2
            if np.sign(np.tanh(k * mid + b) - mid) == np.sign(np.tanh(k * lo + b) - lo):
                lo = mid
            else:
                hi = mid
        roots.append((lo + hi) / 2)
    return np.array(roots)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.2, 4), st.floats(0.2, 4), st.floats(-0.5, 0.5), st.floats(-0.5, 0.5),
       st.floats(-2, 2))
def test_uncoupled_units_have_the_product_of_their_1d_fixed_points(k0, k1, b0, b1, bz):
    """Two uncoupled units: fixed points are pairs of 1-D roots, stable iff both are."""
    r0, r1 = roots_1d(k0, b0), roots_1d(k1, b1)
    slope = [k * (1 - np.tanh(k * r + b) ** 2) for k, r, b in ((k0, r0, b0), (k1, r1, b1))]
    assume(all(np.abs(s - 1).min() > 1e-3 for s in slope))  # no bifurcation point
    assume(len(r0) == len(set(np.round(r0, 3))) and len(r1) == len(set(np.round(r1, 3))))
    w = dy.two_unit(((k0, 0), (0, k1)), b_n=(b0, b1), b_z=bz)
    pts = dy.fixed_points(w, ZERO2)
    expected = sorted((a, b) for a in r0 for b in r1)
    np.testing.assert_allclose([p.h for p in pts], expected, atol=1e-9)
    stable = {(i, j): s0 < 1 and s1 < 1 for i, s0 in enumerate(slope[0])
              for j, s1 in enumerate(slope[1])}
    want = [stable[i, j] for i in range(len(r0)) for j in range(len(r1))]
    assert [p.kind == "stable" for p in pts] == want


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**16), st.floats(0.5, 4.0), st.booleans())
def test_random_2_unit_fixed_points_are_exact_and_complete(seed, scale, reset_after):
    w = random_cell(2, 2, seed, scale, reset_after)
    pts = dy.fixed_points(w, ZERO2)
    assert pts
    H = np.array([p.h for p in pts])
    assert np.max(np.abs(dy.step_map(w, ZERO2, H) - H)) <= 1e-10
    J = fd_jacobian(w, ZERO2, H)
    assume(np.abs(np.linalg.det(J - np.eye(2))).min() > 1e-3)  # hyperbolic points only
    for p, Jp in zip(pts, J):
        assert p.kind == dy.classify(np.linalg.eigvals(Jp))
    assert index_sum(w, ZERO2, pts) == 1  # none missed


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), st.floats(0.5, 3.0), st.booleans(), st.integers(0, 2**16))
def test_update_gate_weights_never_move_the_fixed_points(seed, scale, reset_after, zseed):
    w = random_cell(2, 2, seed, scale, reset_after)
    rng = np.random.default_rng(zseed)
    w2 = w.replace(W_iz=rng.normal(size=(2, 2)) * 3, W_hz=rng.normal(size=(2, 2)) * 3,
                   b_iz=rng.normal(size=2) * 2, b_hz=rng.normal(size=2))
    a, b = dy.fixed_points(w, ZERO2), dy.fixed_points(w2, ZERO2)
    Ja = dy.jacobian(w, ZERO2, np.array([p.h for p in a]))
    assume(np.abs(np.linalg.det(Ja - np.eye(2))).min() > 1e-3)
    assert len(a) == len(b)
    np.testing.assert_allclose([p.h for p in a], [p.h for p in b], atol=1e-9)


@pytest.mark.parametrize("k", [0.2, 0.7, 0.99, 1.0, 1.01, 1.5, 2.5, 5.0])
def test_pitchfork_fixed_points_are_the_roots_of_tanh_kh_equals_h(k):
    pts = dy.fixed_points(dy.pitchfork(k), np.zeros(1))
    hs = np.array([p.h[0] for p in pts])
    if k <= 1:
        assert len(pts) == 1 and abs(hs[0]) < 1e-3
        assert pts[0].kind == ("marginal" if k == 1 else "stable")
        return
    h_star = 1.0
    for _ in range(2000):  # h ← tanh(k h) from 1 converges to the positive root
        h_star = np.tanh(k * h_star)
    np.testing.assert_allclose(hs, [-h_star, 0, h_star], atol=1e-10)
    assert [p.kind for p in pts] == ["stable", "unstable", "stable"]


def test_slow_points_find_the_eight_memories_of_three_bistable_units():
    """A 6-unit layer: three bistable units and three weakly self-coupled ones."""
    H = 6
    W_hn = np.diag([2.5, 2.5, 2.5, 0.3, 0.3, 0.3])
    w = random_cell(3, H, seed=0, scale=0.0).replace(
        W_in=np.vstack([np.eye(3) * 3, np.zeros((3, 3))]), W_hn=W_hn,
        b_ir=np.full(H, dy.OPEN))
    rng = np.random.default_rng(0)
    pulses = rng.choice([-1.0, 0.0, 0.0, 0.0, 1.0], size=(20, 60, 3))
    states = run(GRUModel(((w,),)), pulses).output.reshape(-1, H)
    pts = dy.slow_points(w, np.zeros(3), states, count=300)
    stable = [p for p in pts if p.kind == "stable"]
    assert len(stable) == 8
    signs = {tuple(np.sign(p.h[:3]).astype(int)) for p in stable}
    assert len(signs) == 8
    for p in pts:
        assert p.q <= 1e-6
        G = dy.step_map(w, np.zeros(3), p.h[None])[0] - p.h
        J = dy.jacobian(w, np.zeros(3), p.h[None])[0] - np.eye(H)
        assert np.linalg.norm(J.T @ G) < 1e-8  # a minimum of q: its gradient vanishes


def test_slow_points_include_a_slow_point_that_is_not_fixed():
    """Just below the pitchfork, tanh(k h + b) = h has no root near the ghost: q > 0 there."""
    w = dy.two_unit(((1.5, 0), (0, 0.5)), b_n=(0.25, 0))  # saddle-node ghost near h0 ≈ −0.7
    states = dy.grid_starts(2, 9)
    pts = dy.slow_points(w, ZERO2, states, q_max=1e-3)
    assert any(p.q > 1e-12 for p in pts) and any(p.q < 1e-20 for p in pts)


def test_planes_round_trip_and_field_vanishes_at_fixed_points():
    w = dy.PLANE_PRESETS["four states (2 bits)"].weights()
    plane = dy.unit_plane(2)
    a, b = np.array([-0.5, 0.2]), np.array([0.7, -0.1])
    np.testing.assert_allclose(plane.coords(plane.states(a, b)), np.stack([a, b], -1))
    pts = dy.fixed_points(w, ZERO2)
    f = dy.vector_field(w, ZERO2, plane, np.array([p.h[0] for p in pts]), np.array([0.0]))
    assert f.speed.shape == (1, len(pts))
    states = np.random.default_rng(0).normal(size=(50, 5)) * [3, 1, 0.2, 0.1, 0.05]
    pca, var = dy.pca_plane(states)
    np.testing.assert_allclose(pca.basis @ pca.basis.T, np.eye(2), atol=1e-12)
    assert var[0] > var[1] > 0 and abs(pca.basis[0, 0]) > 0.99
    u = dy.unit_plane(4, 1, 3, rest=np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(u.coords(np.array([0.1, -0.5, 0.3, 0.9])), [-0.5, 0.9])


def test_fixed_points_above_three_units_need_starts():
    w = random_cell(2, 4, seed=0, scale=1.0)
    with pytest.raises(ValueError, match="pass starts"):
        dy.fixed_points(w, ZERO2)
    pts = dy.fixed_points(w, ZERO2, starts=np.zeros((1, 4)))
    assert len(pts) == 1 and pts[0].kind == "stable"


FLIPFLOP = pathlib.Path(__file__).resolve().parents[1] / "assets" / "flipflop.pt"


@pytest.mark.skipif(not FLIPFLOP.exists(), reason="the trained 3-bit flip-flop is not built")
def test_the_trained_flip_flop_holds_its_eight_memories_in_stable_fixed_points():
    """Its head reads the 8 sign patterns (±1)³ at the 8 stable fixed points (Sussillo & Barak)."""
    from gru_viz.io.checkpoint import load_checkpoint

    ck = load_checkpoint(FLIPFLOP)
    w = ck.model.astype(np.float64).cells[0][0]
    pulses = np.random.default_rng(0).choice([-1.0, 0, 0, 0, 0, 0, 0, 0, 1.0], size=(16, 40, 3))
    states = run(ck.model.astype(np.float64), pulses).output.reshape(-1, w.hidden_size)
    pts = dy.slow_points(w, np.zeros(3), states, count=160)
    stable = [p for p in pts if p.kind == "stable" and p.q <= 1e-20]
    read = np.array([ck.head_weight @ p.h + ck.head_bias for p in stable])
    assert len(stable) == 8
    assert {tuple(np.sign(r).astype(int)) for r in read} == set(
        itertools.product((-1, 1), repeat=3))
    np.testing.assert_allclose(np.abs(read), 1, atol=0.05)
