"""What the phase-portrait page shows, computed in gru_viz.analysis.portrait."""

import numpy as np

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import portrait
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.reference import states as reference_states
from gru_viz.io.inputs import parse_rows


def test_hand_portrait_of_the_bistable_switch():
    p = dy.PLANE_PRESETS["bistable switch"]
    w, field, points = portrait.hand_portrait(p.W_hn, p.b_n, p.b_z, (0.0, 0.0))
    kinds = sorted(portrait.point_kind(q) for q in points)
    assert kinds == ["saddle", "stable", "stable"]
    assert portrait.fixed_count(points) == 3
    assert field.speed.shape == (85, 85)
    x = parse_rows(p.example, 2)
    traj = portrait.trajectory(w, x)
    assert traj.shape == (len(x) + 1, 2) and not traj[0].any()
    np.testing.assert_allclose(traj[1:], reference_states(w, x, np.zeros(2)), atol=1e-12)


def test_slow_point_search_from_the_visited_states():
    m = GRUModel.random(2, 6, num_layers=2, seed=3).map(lambda w: w.replace(W_hn=w.W_hn * 4))
    x = np.random.default_rng(0).normal(size=(10, 2))
    states, points, starts = portrait.slow_point_search(m, 1, 0, x, np.zeros(6), samples=3)
    assert states.shape == (4, 10, 6) and starts == portrait.search_budget(6)[0] == 160
    np.testing.assert_allclose(states[0], run(m, x).layers[1][0].h, atol=1e-12)  # typed first
    again = portrait.slow_point_search(m, 1, 0, x, np.zeros(6), samples=3)
    assert len(again[1]) == len(points)  # seeded: the same search
    for p in points:
        assert p.q <= 1e-6
    assert portrait.search_budget(64) == (48, 100) and portrait.search_budget(65) == (16, 50)


def test_layer_input_is_the_layer_below():
    m = GRUModel.random(2, 3, num_layers=2, bidirectional=True, seed=1)
    x = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_array_equal(portrait.layer_input(m, x, 0, 1, 2), x[2])
    np.testing.assert_allclose(portrait.layer_input(m, x, 1, 0, 2), run(m, x).layers[0][0].h[2]
                               .tolist() + run(m, x).layers[0][1].h[2].tolist())


def test_point_rows_and_what_the_head_reads():
    p = dy.PLANE_PRESETS["bistable switch"]
    _, _, points = portrait.hand_portrait(p.W_hn, p.b_n, p.b_z, (0.0, 0.0))
    plane = dy.unit_plane(2)
    head = (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2))
    rows = portrait.point_rows(points, plane, head, ("up", "down"))
    assert [r["kind"] for r in rows] == [portrait.point_kind(q) for q in points]
    for r, q in zip(rows, points):
        assert r["head reads"] == ("'up'" if q.h[0] > 0 else "'down'" if q.h[0] < 0 else r[
            "head reads"])
    assert portrait.head_reading(head, np.array([0.5, 0.0])) == "+0.50, -0.50"
    assert "head reads" not in portrait.point_rows(points, plane)[0]


def test_pca_view_holds_every_state():
    states = np.random.default_rng(2).normal(size=(3, 20, 5))
    plane, var, extent = portrait.pca_view(states)
    assert np.abs(plane.coords(states.reshape(-1, 5))).max() < extent
    assert var[0] >= var[1]
