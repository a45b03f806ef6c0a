"""The teaching pages in Streamlit's AppTest: each opened by itself on a fresh session."""

import base64
import json
import pathlib

import numpy as np
from streamlit.testing.v1 import AppTest

from gru_viz.figures.timeline import unframe
from gru_viz.teaching.presets import COUNTER, LATCH, Preset, extra_presets
from gru_viz.ui import lab
from gru_viz.ui.weights_editor import GATE, GATE_TITLES

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAYGROUND, STEP = "pages/1_Playground.py", "pages/2_Step_through.py"


def open_page(page: str | None = None, **params: str) -> AppTest:
    """A fresh session on one page, as when its URL is opened (query parameters included)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update(params)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart's spec, typed arrays decoded."""
    def decode(v):
        if isinstance(v, dict) and set(v) >= {"dtype", "bdata"}:
            return np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
        if isinstance(v, dict):
            return {k: decode(x) for k, x in v.items()}
        if isinstance(v, list):
            return [decode(x) for x in v]
        return v
    return [decode(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]


def heatmap(at: AppTest, row: int) -> np.ndarray:
    """Row 0..3 of the playground's heatmaps (update, reset, candidate, state) as (H, T)."""
    m = charts(at)[0]["data"][row]
    return m["z"].reshape(len(m["y"]), -1)


def open_gate(at: AppTest, gate: str) -> None:
    """Open the weights tab of ``gate`` ("z", "r" or "n"), as a click on it would."""
    label = next(t.label for t in at.tabs if t.label.startswith(GATE_TITLES[gate]))
    at.session_state[f"{GATE}.{at.session_state['notation']}"] = label
    at.session_state[GATE] = gate
    at.run()


def weight_slider(at: AppTest, name: str):
    """The slider of one weight (its key also carries the weights' version), its gate's tab
    opened first when needed (only the open tab is drawn)."""
    if not any(s.key.startswith(f"pg.{name}.") for s in at.slider):
        open_gate(at, name[3])  # W_in -> n, b_hz -> z
    return next(s for s in at.slider if s.key.startswith(f"pg.{name}."))


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
    assert len(at.slider) == 10  # hidden 2, input 1: the open gate's weights and biases
    assert {s.key.split(".")[1] for s in at.slider} == {"W_iz", "W_hz", "b_iz", "b_hz"}
    for gate in "rn":  # the other gates' tabs draw theirs when opened
        open_gate(at, gate)
        assert {s.key.split(".")[1][-1] for s in at.slider} == {gate} and len(at.slider) == 10
    assert at.text_input[0].value == LATCH.text
    assert at.selectbox(key="teach.preset").value == "latch"
    assert at.query_params["p"] in ("latch", ["latch"])
    state = heatmap(at, 3)
    np.testing.assert_allclose(state[0], np.tanh(0.8), atol=5e-3)  # the latch holds


def test_changing_a_weight_changes_the_plotted_values():
    at = open_page(PLAYGROUND)
    before = heatmap(at, 2)
    weight_slider(at, "W_in.0.0").set_value(2.0).run()
    after = heatmap(at, 2)
    np.testing.assert_allclose(after[0], np.tanh(2.0 * np.array(
        [float(v) for v in LATCH.text.split(";")])), atol=1e-3)
    assert not np.allclose(before[0], after[0])
    assert at.session_state[lab.WEIGHTS].W_in[0, 0] == 2.0
    assert at.selectbox(key="teach.preset").value == "latch"  # an edited preset
    assert weight_slider(at, "W_in.0.0").value == 2.0


def test_a_preset_loads_weights_and_input_together():
    at = open_page(PLAYGROUND)
    at.selectbox(key="teach.preset").set_value("counter").run()
    assert at.text_input[0].value == COUNTER.text
    hm = charts(at)[0]
    # t over the input at every step
    assert hm["layout"]["xaxis"]["ticktext"] == [f"{t}<br>{s}" for t, s in enumerate(COUNTER.text)]
    assert at.session_state[lab.WEIGHTS].equals(COUNTER.weights)
    assert len(at.slider) == 2 * (2 + 2 + 2)  # the open gate's


def test_malformed_input_shows_an_error_and_keeps_the_weights():
    at = open_page(PLAYGROUND)
    weights, before = at.session_state[lab.WEIGHTS], heatmap(at, 3)
    at.text_input[0].set_value("0.5; abc; 1").run()
    assert any("'abc' is not a number" in e.value for e in at.error)
    assert at.session_state[lab.WEIGHTS].equals(weights)
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
    assert at.session_state[lab.WEIGHTS].hidden_size == 4 and len(at.slider) == 0
    assert len(at.dataframe) == 1  # the open gate's matrix editor
    assert heatmap(at, 3).shape[0] == 4
    at.button[0].click().run()  # randomize
    assert at.session_state[lab.PRESET] is None and not at.exception
    assert np.abs(heatmap(at, 1) - 0.5).max() > 1e-3


def timeline_data(at: AppTest) -> dict:
    """The data the page sent its time component (``gru_viz.ui.timeline``)."""
    (el,) = at.get("bidi_component")
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
    assert at.session_state[lab.STEP] == 3
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
    assert at.session_state[lab.PRESET] == "reset"
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
