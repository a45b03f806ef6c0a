"""Every hand-set phase-portrait preset does what its text says, read from the trajectory of
its own example; the bifurcation help gives the threshold of the model on screen; the
dynamics pages speak one notation at a time."""

import pathlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.analysis import dynamics as dy
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.io.inputs import parse_rows
from gru_viz.teaching.phase import bifurcation_help

ROOT = pathlib.Path(__file__).resolve().parents[1]
PORTRAIT, MEMORY = "pages/3_Phase_portrait.py", "pages/4_Memory_and_gradients.py"


def trajectory(p: dy.PlanePreset) -> np.ndarray:
    """(T, 2) states of the preset's example input, from h0 = 0."""
    return run(GRUModel(((p.weights(),),)), parse_rows(p.example, 2)).layers[0][0].h


def nearest_fixed_point(p: dy.PlanePreset, h: np.ndarray) -> dy.Point:
    points = dy.fixed_points(p.weights(), np.zeros(2))
    return min(points, key=lambda q: np.abs(q.h - h).max())


@pytest.mark.parametrize("name", ["bistable switch", "four states (2 bits)",
                                  "four states, slow update", "single attractor"])
def test_the_example_rests_by_the_stable_states_its_text_names(name):
    p = dy.PLANE_PRESETS[name]
    h = trajectory(p)
    assert p.visits, "a preset about memory states says which ones its example visits"
    for t, signs in p.visits:
        q = nearest_fixed_point(p, h[t])
        assert q.kind == "stable", (t, h[t], q)
        np.testing.assert_array_equal(np.sign(np.round(q.h, 6)), signs)
        assert np.abs(h[t] - q.h).max() < 0.4, (t, h[t], q.h)  # in its basin, settling


@pytest.mark.parametrize("name,states", [("bistable switch", 2), ("four states (2 bits)", 4),
                                         ("four states, slow update", 4)])
def test_pulses_flip_the_state(name, states):
    """'A pulse flips the switch' / 'visits all four corners': the signs of the state after
    successive holds change, and every stable state named is reached."""
    p = dy.PLANE_PRESETS[name]
    h = trajectory(p)
    seen = [tuple(np.sign(np.round(h[t], 6)).astype(int)) for t, _ in p.visits]
    assert len(set(seen)) == states
    assert all(a != b for a, b in zip(seen, seen[1:]))  # each pulse moved it somewhere else
    assert "flip" in p.description


def test_the_slow_update_moves_twelve_percent_a_step():
    p = dy.PLANE_PRESETS["four states, slow update"]
    assert 1 - 1 / (1 + np.exp(-p.b_z)) == pytest.approx(0.12, abs=0.005)


def test_the_single_attractor_is_reached_from_the_example():
    p = dy.PLANE_PRESETS["single attractor"]
    (only,) = dy.fixed_points(p.weights(), np.zeros(2))
    assert only.kind == "stable"
    assert np.abs(trajectory(p)[-1] - only.h).max() < 0.01


def test_the_slow_line_holds_a_value_on_the_diagonal():
    p = dy.PLANE_PRESETS["slow line"]
    h = trajectory(p)
    np.testing.assert_allclose(h[:, 0], h[:, 1], atol=1e-12)  # on the line
    x = parse_rows(p.example, 2)
    quiet = [t for t in range(1, len(x)) if not x[t].any()]
    kept = h[quiet, 0] / h[np.array(quiet) - 1, 0]
    assert (kept > 0.99).all()  # slides slowly: a value, not a bit that snaps to a corner
    assert len(np.unique(np.round(h[quiet, 0], 2))) >= 2  # and it stores different values


def test_the_oscillation_turns_about_28_degrees_a_step_near_its_point():
    p = dy.PLANE_PRESETS["oscillation"]
    (c,) = dy.fixed_points(p.weights(), np.zeros(2))
    h = trajectory(p)
    turn = np.degrees(np.diff(np.unwrap(np.arctan2(h[:, 1] - c.h[1], h[:, 0] - c.h[0]))))
    assert np.mean(turn[:8]) == pytest.approx(28, abs=1.5)


def _count(W_hn, b_n, xbar=(0.0, 0.0)) -> int:
    return len(dy.fixed_points(dy.two_unit(W_hn, b_n), np.array(xbar)))


@pytest.mark.parametrize("name", list(dy.PLANE_PRESETS))
def test_counts_match_the_solver(name):
    p = dy.PLANE_PRESETS[name]
    for w in (-1.0, 0.5, 1.2, 2.0, 2.9):
        W = ((w, p.W_hn[0][1]), p.W_hn[1])
        assert dy.fixed_point_counts(W, p.b_n, (0, 0), np.array([w]))[0] == _count(W, p.b_n)


def test_the_bifurcation_threshold_is_that_of_the_model_on_screen():
    """Single attractor (candidate bias 0.3): three fixed points appear at W_hn[0,0] ≈ 1.653
    (the slider, in steps of 0.05, first shows them at 1.70), not at 1."""
    p = dy.PLANE_PRESETS["single attractor"]
    ((w, below, above),) = dy.count_changes(p.W_hn, p.b_n, (0, 0))
    assert (below, above) == (1, 3) and w == pytest.approx(1.653, abs=1e-3)
    assert _count(((w - 0.01, 0), (0, 0.5)), p.b_n) == 1
    assert _count(((w + 0.01, 0), (0, 0.5)), p.b_n) == 3
    text = bifurcation_help(PYTORCH, p.W_hn, p.b_n, (0, 0))
    assert "crosses 1.65 (slider 1.70)" in text and "W_hn[0,0]" in text
    assert "W_cc[0,0]" in bifurcation_help(COURSE, p.W_hn, p.b_n, (0, 0))
    # the unbiased switch: the textbook 1
    b = dy.PLANE_PRESETS["bistable switch"]
    assert dy.count_changes(b.W_hn, b.b_n, (0, 0)) == [(pytest.approx(1.0, abs=1e-3), 1, 3)]


def _page(path: str, notation: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    at.run()
    at.radio(key="notation.w").set_value(notation).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    parts = [s.label + " " + (s.help or "") for s in at.slider]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(parts)


PYTORCH_NAMES = ("W_hn", "b_z", "z = σ", "b_in", "n = tanh", " z ")


def test_the_phase_portrait_speaks_course_notation_only():
    at = _page(PORTRAIT, "course")
    text = _texts(at)
    for name in PYTORCH_NAMES:
        assert name not in text, name
    assert "W_cc[0,0]" in text and "b_u" in text and "Γu" in text
    # the shown b_u is −b_z, and moving it sets the model's z bias
    bu = next(s for s in at.slider if s.label.startswith("update gate bias"))
    assert bu.value == 0.0
    bu.set_value(-2.0).run()
    assert at.session_state["pp.bz"] == 2.0
    assert "Γu = 0.119" in _texts(at)
    at.radio(key="notation.w").set_value("pytorch").run()
    assert next(s for s in at.slider if s.label.startswith("update gate bias")).value == 2.0
    assert "W_hn[0,0]" in _texts(at)


def test_the_memory_page_speaks_course_notation_only():
    at = _page(MEMORY, "course")
    at.radio(key="mg.view.w").set_value("Ablation").run()
    text = _texts(at)
    assert "**Clamp:** Γu = 0 for unit 0" in text
    assert "z = 1" not in text and "z = 0" not in text
