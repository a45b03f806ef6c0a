"""The guided lesson: every step's answer is computed from its model's run (checked here
independently, and shown to follow the model when the weights change), in either notation;
and the lesson page in AppTest: the plot stays hidden until the student has answered."""

from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.analysis import dynamics as dy
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.teaching import lesson
from gru_viz.teaching.presets import LATCH, RESET
from tests.app_helpers import ROOT

LESSON = "pages/0_Lesson.py"
STEP = {s.key: s for s in lesson.STEPS}


def test_the_lesson_follows_the_lecture_order():
    assert lesson.KEYS == ("latch", "leaky", "reset", "counter", "flipflop", "portrait",
                           "memory")
    for s in lesson.STEPS:
        for nt in (COURSE, PYTORCH):
            a = s.answer(nt)
            assert a is not None and a.choice in s.options, s.key
            assert any(ch.isdigit() for ch in a.why)  # the model's numbers


def test_latch_answer_from_its_run():
    r = STEP["latch"].run()
    written = 1 - r.cell.z[:, 0]
    assert written[1:].max() < 0.05 and np.ptp(r.cell.h[1:, 0]) < 0.01
    a = STEP["latch"].answer(COURSE)
    assert a.choice == lesson.KEEP and f"{r.cell.h[-1, 0]:.3f}" in a.why and "Γu" in a.why
    assert "z of unit 0" in STEP["latch"].answer(PYTORCH).why  # PyTorch's z, not Γu
    assert "Γu" not in STEP["latch"].answer(PYTORCH).why


def test_the_answer_follows_the_model_not_a_pasted_text():
    """The latch with its flag cut off the update gate writes every input."""
    open_gate = replace(LATCH, key="latch-open", weights=LATCH.weights.replace(
        W_hz=np.zeros((2, 2)), b_iz=np.array([-8.0, -8.0])))
    step = replace(STEP["latch"], preset=lambda: open_gate)
    assert step.answer(COURSE).choice == lesson.WRITE
    # the reset marker made to open the reset gate: Γr no longer drops at '|'
    w = RESET.weights.replace(W_ir=np.array([[6.0, 6.0, 6.0]]))
    step = replace(STEP["reset"], preset=lambda: replace(RESET, key="reset-x", weights=w))
    assert step.answer(COURSE).choice != lesson.LOW


def test_leaky_answer_from_its_run():
    r = STEP["leaky"].run()
    x = r.cell.x[:, 0]
    off = int(np.flatnonzero(x == 0)[0])
    left = r.cell.h[off + 2] / r.cell.h[off - 1]
    assert left[0] < left[1]
    a = STEP["leaky"].answer(COURSE)
    assert a.choice == "unit 0" and f"{left[0]:.0%}" in a.why and f"{left[1]:.0%}" in a.why


def test_reset_answer_from_its_run():
    r = STEP["reset"].run()
    marks = [t for t, c in enumerate(r.labels) if c == "|"]
    assert marks == [t for t, c in enumerate(RESET.text) if c == "|"]
    assert r.cell.r[marks, 0].max() < 0.01
    assert np.abs(r.cell.h[marks, 0]).max() < 0.02  # and the state is wiped
    a = STEP["reset"].answer(COURSE)
    assert a.choice == lesson.LOW and "Γr" in a.why and ", ".join(map(str, marks)) in a.why
    assert "Γr" not in STEP["reset"].answer(PYTORCH).why


def test_counter_answer_from_its_run():
    r = STEP["counter"].run()
    b = [t for t, c in enumerate(r.labels) if c == "b"]
    assert np.abs(r.cell.h[b, 0] - r.cell.h_prev[b, 0]).max() < 0.02
    a = STEP["counter"].answer(COURSE)
    assert a.choice == lesson.FLAT and f"{r.cell.h[-1, 0]:.3f}" in a.why


def test_flipflop_answer_from_its_run():
    r = STEP["flipflop"].run()
    if r is None:
        pytest.skip("the shipped trained model needs torch")
    x = r.cell.x[:, 0]
    quiet = [t for t in range(int(np.flatnonzero(x)[0]) + 1, len(x)) if x[t] == 0]
    u = STEP["flipflop"].unit
    assert np.abs(r.cell.h[quiet, u] - r.cell.h_prev[quiet, u]).max() < 0.2  # it holds
    assert (1 - r.cell.z[quiet, u]).mean() > 0.5  # with an open update gate
    assert STEP["flipflop"].answer(COURSE).choice == lesson.OPEN


def test_portrait_answer_from_the_fixed_points():
    r = STEP["portrait"].run()
    if r is None:
        pytest.skip("the shipped trained model needs torch")
    w = r.preset.model(r.preset.reset_after).cells[0][0]
    stable = [p for p in dy.fixed_points(w, np.zeros(w.input_size)) if p.kind == "stable"]
    assert len(stable) == 2
    a = STEP["portrait"].answer(COURSE)
    assert a.choice == "two" and "2 stable fixed points" in a.why


def test_memory_answer_from_the_run():
    r = STEP["memory"].run()
    kept = r.cell.z[:, 1]
    share, k = 1.0, 0
    while share > 0.5:
        k += 1
        share *= kept[k]
    a = STEP["memory"].answer(COURSE)
    assert a.choice == f"about {k} steps" and a.choice in STEP["memory"].options
    assert f"after {k} steps" in a.why


def test_a_step_is_found_by_key_or_number():
    assert lesson.find("reset") == 2 and lesson.find("3") == 2 and lesson.find("x") == 0
    assert lesson.find(None) == 0 and lesson.find("99") == 0


# --- the page --------------------------------------------------------------------------------

def open_lesson(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(params)
    at.switch_page(LESSON)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def predict(at: AppTest):
    return next(r for r in at.radio if r.label.startswith("**Predict"))


@pytest.mark.parametrize("key", lesson.KEYS)
def test_each_step_hides_the_plot_until_answered_then_reveals(key):
    at = open_lesson(step=key)
    assert at.subheader[0].value == STEP[key].title
    q = predict(at)
    assert q.value is None and not at.get("plotly_chart")  # hidden
    assert not at.success and not at.warning
    a = STEP[key].answer(COURSE)
    q.set_value(a.choice).run()
    assert not at.exception
    assert at.success[0].value.startswith("**Right:**") and a.why in at.success[0].value
    assert len(at.get("plotly_chart")) == 1  # revealed
    wrong = next(o for o in STEP[key].options if o != a.choice)
    predict(at).set_value(wrong).run()
    assert at.warning[0].value.startswith(f"**Not quite:** {a.choice}")
    assert a.why in at.warning[0].value
    at.button(key=f"lesson.again.{key}").click().run()  # hide again
    assert predict(at).value is None and not at.get("plotly_chart")


def test_next_previous_and_the_step_in_the_link():
    at = open_lesson()
    assert at.query_params["step"] in ("latch", ["latch"])
    assert at.button(key="lesson.prev").disabled
    at.button(key="lesson.next").click().run()
    assert at.subheader[0].value == STEP["leaky"].title
    assert at.query_params["step"] in ("leaky", ["leaky"])
    at.button(key="lesson.prev").click().run()
    assert at.subheader[0].value == STEP["latch"].title
    at = open_lesson(step="7")
    assert at.subheader[0].value == STEP["memory"].title and at.button(key="lesson.next").disabled


def test_the_lesson_speaks_the_notation_chosen():
    at = open_lesson(step="reset")
    at.radio(key="notation.w").set_value("pytorch").run()
    q = predict(at)
    assert "r do?" in q.label and "Γr" not in q.label
    q.set_value(STEP["reset"].answer(PYTORCH).choice).run()
    assert STEP["reset"].answer(PYTORCH).why in at.success[0].value


# --- the frame's lecture switch and theme -----------------------------------------------------

def test_lecture_switch_is_kept_in_the_link_and_by_pages_that_write_theirs():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lecture"] = "1"
    at.switch_page("pages/1_Playground.py")
    at.run()
    assert not at.exception
    assert at.toggle(key="lecture.w").value is True
    assert any("font-size:20px" in m.value for m in at.sidebar.markdown)
    assert at.query_params["lecture"] in ("1", ["1"])  # the Playground's own link keeps it
    assert at.query_params["p"] in ("latch", ["latch"])
    weights = at.session_state["lab.version"]
    at.run()
    assert at.session_state["lab.version"] == weights  # the frame's key is not a new view
    at.toggle(key="lecture.w").set_value(False).run()
    assert "lecture" not in at.query_params
    assert not any("font-size:20px" in m.value for m in at.sidebar.markdown)
    at.switch_page("pages/0_Lesson.py").run()
    at.toggle(key="lecture.w").set_value(True).run()
    assert at.query_params["lecture"] in ("1", ["1"]) and "step" in at.query_params


def test_no_custom_theme_in_the_config_so_light_and_dark_can_switch():
    """A [theme] section makes a custom theme, which overrides the light/dark choice."""
    import tomllib
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert "theme" not in config
    at = open_lesson()
    assert any("font-size:17px" in m.value for m in at.sidebar.markdown)  # its font size


# --- one model across the teaching pages ----------------------------------------------------

@pytest.mark.parametrize("page,prefix", [("pages/4_Memory_and_gradients.py", "mg"),
                                         ("pages/3_Phase_portrait.py", "pp")])
def test_the_playgrounds_model_and_input_open_on_the_dynamics_pages(page, prefix):
    from gru_viz.ui.state import Lab
    from gru_viz.ui.subjects import PLAYGROUND
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/1_Playground.py").run()
    at.selectbox(key="teach.preset").set_value("counter").run()  # edited, then typed
    at.text_input(key="lab.text.w").set_value("abba").run()
    w = at.session_state[Lab.weights.key]
    at.switch_page(page).run()
    if prefix == "pp":
        at.radio(key="pp.source.w").set_value("a larger model").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key=f"{prefix}.model.w").value == PLAYGROUND
    box = next(t for t in at.text_area if t.key.startswith(f"{prefix}.text.playground-"))
    assert box.value == "abba"
    assert "The Playground's cell (preset 'counter')" in " ".join(c.value for c in at.caption)
    # a later change on the Playground shows here too: a new model key, its new text
    at.switch_page("pages/1_Playground.py").run()
    at.text_input(key="lab.text.w").set_value("aab").run()
    at.switch_page(page).run()
    box = next(t for t in at.text_area if t.key.startswith(f"{prefix}.text.playground-"))
    assert box.value == "aab" and at.session_state[Lab.weights.key].equals(w)
