"""The teaching pages in Streamlit's AppTest: each opened by itself on a fresh session."""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.figures.timeline import unframe
from gru_viz.teaching.presets import COUNTER, LATCH, Preset, extra_presets
from gru_viz.ui.state import Lab
from tests.app_helpers import (
    PLAYGROUND,
    ROOT,
    STEP,
    charts,
    heatmap,
    open_gate,
    open_page,
    weight_slider,
)


def test_home_page():
    at = open_page()
    assert len(at.latex) == 2  # both notations
    text = " ".join(c.value for c in at.caption)
    assert "c⟨t−1⟩ is meant" in text
    assert (ROOT / "assets" / "gru_cell.svg").read_text().startswith("<svg")
    # the sidebar's navigation (home + every page) and the body's "where next" (every page)
    n_pages = len(list((ROOT / "pages").glob("*.py")))
    assert len(at.sidebar.get("page_link")) == n_pages + 1
    assert len(at.main.get("page_link")) == n_pages


def test_playground_opened_alone_shows_the_default_preset():
    at = open_page(PLAYGROUND)
    assert len(charts(at)) == 2
    # hidden 2, input 1, course notation: the open gate's W_ux (2), W_uc (4) and b_u (2)
    assert len(at.slider) == 8
    assert {s.key.split(".")[1] for s in at.slider} == {"W_ux", "W_uc", "b_u"}
    for gate, c in (("r", "r"), ("n", "c")):  # the other gates' tabs draw theirs when opened
        open_gate(at, gate)
        assert {s.key.split(".")[1][2] for s in at.slider} == {c} and len(at.slider) == 8
    assert at.text_input[0].value == LATCH.text
    assert at.selectbox(key="teach.preset").value == "latch"
    assert at.query_params["p"] in ("latch", ["latch"])
    state = heatmap(at, 3)
    np.testing.assert_allclose(state[0], np.tanh(0.8), atol=5e-3)  # the latch holds


def test_changing_a_weight_changes_the_plotted_values():
    at = open_page(PLAYGROUND)
    before = heatmap(at, 2)
    weight_slider(at, "W_cx.0.0").set_value(2.0).run()  # course: W_cx is W_in
    after = heatmap(at, 2)
    np.testing.assert_allclose(after[0], np.tanh(2.0 * np.array(
        [float(v) for v in LATCH.text.split(";")])), atol=1e-3)
    assert not np.allclose(before[0], after[0])
    assert at.session_state[Lab.weights.key].W_in[0, 0] == 2.0
    assert at.selectbox(key="teach.preset").value == "latch"  # an edited preset
    assert weight_slider(at, "W_cx.0.0").value == 2.0


def test_a_preset_loads_weights_and_input_together():
    at = open_page(PLAYGROUND)
    at.selectbox(key="teach.preset").set_value("counter").run()
    assert at.text_input[0].value == COUNTER.text
    hm = charts(at)[0]
    assert hm["layout"]["xaxis"]["ticktext"] == list(COUNTER.text)
    # and t under the input at every tick (annotations: the tick text is escaped data)
    t_row = [a["text"] for a in hm["layout"]["annotations"] if a.get("name") == "t"]
    assert t_row == [str(t) for t in range(len(COUNTER.text))]
    assert at.session_state[Lab.weights.key].equals(COUNTER.weights)
    assert len(at.slider) == 2 * (2 + 2 + 1)  # the open gate's W_ux, W_uc, b_u


def test_malformed_input_shows_an_error_and_keeps_the_weights():
    at = open_page(PLAYGROUND)
    weights, before = at.session_state[Lab.weights.key], heatmap(at, 3)
    at.text_input[0].set_value("0.5; abc; 1").run()
    assert any("'abc' is not a number" in e.value for e in at.error)
    assert at.session_state[Lab.weights.key].equals(weights)
    np.testing.assert_array_equal(heatmap(at, 3), before)  # last good input still shown
    at.text_input[0].set_value("0.1; 0.2").run()
    assert not at.error and heatmap(at, 3).shape == (2, 2)


def test_notation_and_variant_switch_relabel_and_recompute():
    at = open_page(PLAYGROUND)
    course = heatmap(at, 0)
    at.radio(key="notation.w").set_value("pytorch").run()
    np.testing.assert_allclose(heatmap(at, 0), 1 - course, atol=1e-6)
    titles = [a["text"] for a in charts(at)[0]["layout"]["annotations"]]
    assert titles[0].startswith("update gate z (share of the old state kept")
    assert any("PyTorch (z, r, n, h) notation, reset before" in m.value for m in at.markdown)
    at.radio(key="lab.variant.w").set_value("after").run()
    assert any("reset after (PyTorch)" in m.value for m in at.markdown)
    assert r"r_t \odot (W_{hn}" in at.latex[-1].value


def test_resize_and_randomize_switch_to_the_matrix_editor():
    at = open_page(PLAYGROUND)
    at.number_input(key="pg.hidden").set_value(4).run()
    assert at.session_state[Lab.weights.key].hidden_size == 4 and len(at.slider) == 0
    assert len(at.dataframe) == 1  # the open gate's matrix editor
    assert heatmap(at, 3).shape[0] == 4
    at.button[0].click().run()  # randomize
    assert at.session_state[Lab.preset.key] is None and not at.exception
    assert np.abs(heatmap(at, 1) - 0.5).max() > 1e-3


def timeline_data(at: AppTest) -> dict:
    """The data the page sent its time component (``gru_viz.ui.timeline``)."""
    (el,) = [e for e in at.get("bidi_component")  # not the frame's theme switch
             if e.proto.component_name.endswith("timeline")]
    return json.loads(el.proto.mixed.json or el.proto.json)


def test_step_through_opened_alone():
    at = open_page(STEP)
    data = timeline_data(at)
    assert data["kind"] == "stepper" and data["t0"] == 0
    assert data["T"] == len(LATCH.text.split(";")) == len(data["equations"]["values"])
    assert unframe(data["diagram"], 0).startswith("<svg")
    assert unframe(data["equations"], 3).count('class="eq"') == 4  # with numbers
    assert not at.get("plotly_chart")  # the time chart is the component's own


def test_shared_link_restores_the_view():
    at = open_page(STEP, p="counter", n="pytorch", r="after", t="3", x="abab", u="1")
    assert at.session_state[Lab.step.key] == 3
    assert at.radio(key="notation.w").value == "pytorch"
    assert at.radio(key="lab.variant.w").value == "after"
    assert at.radio(key="lab.unit.w").value == 1
    data = timeline_data(at)
    assert data["t0"] == 3 and data["labels"][3] == "b" and data["unit"] == 1
    assert "z<sub>t</sub>" in unframe(data["equations"], 3)
    # the page writes the same state back: a reload gives the same view
    assert at.query_params["t"] in ("3", ["3"]) and at.query_params["u"] in ("1", ["1"])


def test_hostile_link_warns_and_shows_defaults():
    at = open_page(PLAYGROUND, p="<script>", w="8.4.%%%", t="x")
    warnings = " ".join(w.value for w in at.warning)
    assert "unknown preset" in warnings and "weights could not be read" in warnings
    assert len(charts(at)) == 2


def test_state_is_shared_between_pages():
    at = open_page(PLAYGROUND)
    at.selectbox(key="teach.preset").set_value("reset").run()
    at.switch_page(STEP).run()
    assert not at.exception
    assert at.session_state[Lab.preset.key] == "reset"
    assert timeline_data(at)["labels"][0] == "a"


def test_a_trained_preset_pins_its_reset_placement():
    trained = Preset("trained-demo", "Trained: demo", "why", "look", LATCH.weights, LATCH.text,
                     reset_after=True)
    extra_presets.append(lambda: [trained])
    try:
        at = open_page(PLAYGROUND)
        assert at.radio(key="lab.variant.w").value == "before"
        at.selectbox(key="teach.preset").set_value("trained-demo").run()
        assert at.radio(key="lab.variant.w").value == "after"
        assert any("reset after (PyTorch)" in m.value for m in at.markdown)
    finally:
        extra_presets.pop()


def test_the_update_gate_tab_in_course_notation_shows_course_parameters_that_open_it():
    """Course notation: W_ux, W_uc, b_u (not PyTorch's W_iz…), and raising one raises Γu."""
    at = open_page(PLAYGROUND)
    assert {s.key.split(".")[1] for s in at.slider} == {"W_ux", "W_uc", "b_u"}
    assert not any("W_iz" in s.label or "b_hz" in s.label for s in at.slider)
    assert "opens" in " ".join(c.value for c in at.caption)
    before = heatmap(at, 0)  # Γu (H, T)
    b_u = weight_slider(at, "b_u.0")
    assert b_u.value == pytest.approx(-(LATCH.weights.b_iz[0] + LATCH.weights.b_hz[0]))
    b_u.set_value(b_u.value + 2.0).run()
    after = heatmap(at, 0)
    assert (after[0] > before[0]).all()  # raising b_u opens Γu at every step
    w = at.session_state[Lab.weights.key]
    assert w.b_iz[0] == pytest.approx(LATCH.weights.b_iz[0] - 2.0)  # z's bias fell by 2
    assert w.b_hz[0] == LATCH.weights.b_hz[0]
    weight_slider(at, "W_uc.0.1").set_value(-3.0).run()  # W_uc = −W_hz
    assert at.session_state[Lab.weights.key].W_hz[0, 1] == 3.0
    # PyTorch notation: PyTorch's names, and the values are the stored ones
    at.radio(key="notation.w").set_value("pytorch").run()
    assert {s.key.split(".")[1] for s in at.slider} == {"W_iz", "W_hz", "b_iz", "b_hz"}
    assert weight_slider(at, "W_hz.0.1").value == 3.0


def test_course_candidate_bias_follows_the_reset_placement():
    """Reset before: b_c = b_in + b_hn (one bias); reset after: b_c = b_in and b_cc = b_hn."""
    from gru_viz.core.model import GRUModel
    from gru_viz.teaching.params import gate_params, set_gate_params
    w = GRUModel.random(2, 3, seed=1).cells[0][0]
    for after in (False, True):
        cw = w.replace(reset_after=after).to_course()
        p = gate_params(w, "n", True, after)
        np.testing.assert_array_equal(p["b_c"], cw.b_c)
        np.testing.assert_array_equal(p["W_cc"], cw.W_c[:, :3])
        assert ("b_cc" in p) == after
        u = gate_params(w, "z", True, after)
        np.testing.assert_array_equal(u["W_uc"], cw.W_u[:, :3])
        np.testing.assert_array_equal(u["b_u"], cw.b_u)
        for g in "zrn":  # writing back what was read changes nothing
            back = set_gate_params(w, g, gate_params(w, g, True, after), True, after)
            for n in ("W_iz", "W_hz", "b_iz", "b_hz", "W_ir", "b_ir", "W_in", "b_in", "b_hn"):
                np.testing.assert_allclose(getattr(back, n), getattr(w, n), atol=1e-15)


def test_home_follows_the_notation_switch():
    """Its diagram and first equations speak the notation chosen (it said 'course notation'
    under PyTorch)."""
    at = open_page()
    svg = next(m.value for m in at.main.markdown if m.value.startswith("<svg"))
    assert "Course (Γu" in svg and "c̃⟨t⟩" in svg and "n(t)" not in svg
    assert at.latex[0].value.startswith(r"\Gamma_u") or "Gamma_u" in at.latex[0].value
    at.radio(key="notation.w").set_value("pytorch").run()
    svg = next(m.value for m in at.main.markdown if m.value.startswith("<svg"))
    assert "PyTorch (z" in svg and "n(t)" in svg and "c̃" not in svg and "Course" not in svg
    assert "Gamma" not in at.latex[0].value and "z" in at.latex[0].value
    assert at.main.markdown[1].value.startswith("**PyTorch notation**")


def test_matrix_numbers_typed_as_text_keep_their_signs_and_report_every_problem():
    at = open_page(PLAYGROUND, p="reset", n="pytorch")
    box = next(t for t in at.text_area if t.label.startswith("…or type them"))
    assert box.value == "0, 0, 0, 0, -6, 0"  # W_iz x[0..2], W_hz h[0], b_iz, b_hz
    box.set_value("0, -6, 2.5, 0, -6, 0").run()
    w = at.session_state[Lab.weights.key]
    np.testing.assert_array_equal(w.W_iz[0], [0, -6, 2.5])
    assert w.b_iz[0] == -6
    box = next(t for t in at.text_area if t.label.startswith("…or type them"))
    box.set_value("0, x, 2.5, 0, -6; 1").run()
    msg = " ".join(e.value for e in at.error)
    assert "Row 1 '0, x, 2.5, 0, -6', value 2: 'x' is not a number" in msg
    assert "Row 2 '1' has 1 value(s), expected 6" in msg
    assert at.session_state[Lab.weights.key].equals(w)  # nothing applied
    at.radio(key="notation.w").set_value("course").run()  # the same table, course terms
    box = next(t for t in at.text_area if t.label.startswith("…or type them"))
    assert box.value == "0, 6, -2.5, 0, 6"  # W_ux = −W_iz, W_uc, b_u = −(b_iz + b_hz)


def test_a_link_keeps_the_units_to_follow_and_the_open_tab():
    at = open_page(PLAYGROUND, p="counter", f="1", g="r")
    assert at.multiselect(key="pg.units.w").value == [1]
    lines = charts(at)[1]["data"]
    assert {t["name"] for t in lines} == {"unit 1"}
    assert timeline_data(at)["targets"][0]["key"] == "pg.heatmaps"
    assert 'data-u="1"' in unframe(timeline_data(at)["values"], 0)
    # the reset gate's tab: W_rx, W_rc, b_r (course names)
    assert at.slider and {s.key.split(".")[1].split("_")[1][0] for s in at.slider} == {"r"}
    assert at.query_params["f"] in ("1", ["1"]) and at.query_params["g"] in ("r", ["r"])
    # nothing chosen: every unit's lines, never empty panels
    at.multiselect(key="pg.units.w").set_value([]).run()
    assert {t["name"] for t in charts(at)[1]["data"]} == {"unit 0", "unit 1"}


def test_a_link_with_bad_view_parameters_warns():
    at = open_page(STEP, u="9", f="0,x", g="q")
    text = " ".join(w.value for w in at.warning)
    assert "unit" in text and "units to follow" in text and "weights tab" in text
    assert timeline_data(at)["unit"] == 0
