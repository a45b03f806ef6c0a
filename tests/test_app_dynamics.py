"""The phase-portrait and memory/gradients pages in AppTest: every view renders, presets and
sliders move the fixed points, bad input shows an error instead of an exception."""

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.analysis import gradients as gr
from gru_viz.ui.subjects import PRESET, RANDOM
from tests.app_helpers import MEMORY, PORTRAIT
from tests.app_helpers import entered as page

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def kinds(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["kind"])


@pytest.mark.parametrize("preset,expected", [
    ("single attractor", ["stable"]),
    ("bistable switch", ["stable", "saddle", "stable"]),
    ("four states (2 bits)", ["stable"] * 4 + ["saddle"] * 4 + ["unstable"]),
    ("oscillation", ["unstable"]),
])
def test_each_preset_shows_its_fixed_points(preset, expected):
    at = page(PORTRAIT)
    at.selectbox(key="pp.preset").set_value(preset).run()
    assert_ok(at)
    assert sorted(kinds(at)) == sorted(expected)
    assert len(at.get("plotly_chart")) == 2  # the portrait and the one-unit pitchfork


def test_the_recurrent_weight_slider_makes_fixed_points_appear():
    at = page(PORTRAIT)
    at.selectbox(key="pp.preset").set_value("bistable switch").run()
    at.slider(key="pp.w00").set_value(0.8).run()
    assert kinds(at) == ["stable"]
    at.slider(key="pp.w00").set_value(1.3).run()
    assert sorted(kinds(at)) == ["saddle", "stable", "stable"]
    assert_ok(at)


def test_a_bad_trajectory_input_is_an_error_not_an_exception():
    at = page(PORTRAIT)
    at.text_area(key="pp.hand_text").set_value("1, 0; banana").run()
    assert not at.exception
    assert "not a number" in at.error[0].value
    assert kinds(at) == ["stable"]  # the portrait still shows


def test_larger_models_in_both_planes():
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    at.selectbox(key="pp.model.w").set_value(RANDOM).run()
    assert_ok(at)
    assert "stable" in kinds(at)
    xvec = next(t.key for t in at.text_input if t.key.startswith("pp.xvec"))
    at.text_input(key=xvec).set_value("1, 0, oops").run()
    assert "3 numbers" in at.error[0].value
    at.text_input(key=xvec).set_value("1, 0, -0.5").run()
    assert_ok(at)
    at.radio(key="pp.plane.False").set_value("two units").run()
    assert_ok(at)
    at.selectbox(key="pp.uj").set_value(0).run()
    assert "two different units" in at.error[0].value


def test_a_preset_as_a_larger_model_finds_its_four_memories():
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    at.selectbox(key="pp.model.w").set_value(PRESET + "four states (2 bits)").run()
    assert_ok(at)
    assert kinds(at).count("stable") == 4


@pytest.mark.parametrize("view", ["Memory", "Gradients through time", "Ablation"])
def test_every_memory_view_renders(view):
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value(RANDOM).run()
    at.radio(key="mg.view.w").set_value(view).run()
    assert_ok(at)
    assert at.get("plotly_chart")


def test_timing_table_lists_three_models(monkeypatch):
    # the measurement itself is tested in test_gradients; here oneDNN's first LSTM call
    # (seconds of kernel compilation) would only slow the suite down
    monkeypatch.setattr(gr, "seconds_per_step", lambda module, *a, onednn=True: 1e-5 + onednn)
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value(RANDOM).run()
    at.radio(key="mg.view.w").set_value("Gradients through time").run()
    at.toggle(key="mg.g_time").set_value(True).run()
    assert_ok(at)
    table = at.dataframe[0].value
    assert list(table["model"]) == ["GRU", "vanilla RNN", "LSTM"]
    assert list(table["µs per step"]) == [1000010.0] * 3
    assert list(table["µs per step, oneDNN off"]) == [10.0] * 3


def test_ablation_in_course_notation_says_never_write():
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value(PRESET + "bistable switch").run()
    at.radio(key="mg.view.w").set_value("Ablation").run()
    assert_ok(at)
    text = " ".join(m.value for m in at.markdown)
    assert "Γu = 0" in text and "z = 1" not in text and "never write" in text


def test_bad_memory_input_is_an_error():
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value(RANDOM).run()
    key = next(t.key for t in at.text_area)
    at.text_area(key=key).set_value("1, 2").run()
    assert not at.exception
    assert "3" in at.error[0].value and "Row 1" in at.error[0].value


def text_checkpoint() -> bytes:
    """Our own format: one-hot symbols over '()[]', a 6-unit GRU and a linear head."""
    import io

    import numpy as np

    from gru_viz.core.model import GRUModel
    from gru_viz.io.inputs import Vocabulary
    from gru_viz.io.savefile import save_checkpoint

    model = GRUModel.random(4, 6, seed=3).map(lambda w: w.replace(W_hn=w.W_hn * 4))
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocabulary=Vocabulary(tuple("()[]")),
                    head_weight=rng.normal(size=(4, 6)), head_bias=np.zeros(4))
    return buf.getvalue()


def upload(at: AppTest, prefix: str) -> AppTest:
    at.selectbox(key=f"{prefix}.model.w").set_value("upload a checkpoint").run()
    at.get("file_uploader")[0].set_value(("brackets.pt", text_checkpoint(),
                                          "application/octet-stream")).run()
    return at


def test_an_uploaded_text_model_with_a_head_on_both_pages():
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    upload(at, "pp")
    assert_ok(at)
    xbar = next(b for b in at.selectbox if b.key.startswith("pp.xbar"))
    assert xbar.value == "("  # text models hold their first symbol by default
    xbar.set_value("zero").run()
    assert_ok(at)
    assert kinds(at)
    at = upload(page(MEMORY), "mg")
    at.radio(key="mg.view.w").set_value("Gradients through time").run()
    at.radio(key="mg.g_what").set_value("an output of the head").run()
    at.selectbox(key="mg.g_sym").set_value(2).run()
    assert_ok(at)
    at.radio(key="mg.view.w").set_value("Ablation").run()
    assert_ok(at)
    assert any("top prediction changes" in c.value for c in at.caption)
    key = next(t.key for t in at.text_area)
    at.text_area(key=key).set_value("(x)").run()
    assert "Not in the vocabulary" in at.error[0].value and not at.exception


FLIPFLOP = PAGES.parent / "assets" / "flipflop.pt"


@pytest.mark.skipif(not FLIPFLOP.exists(), reason="the trained 3-bit flip-flop is not built")
def test_the_trained_flip_flop_on_both_pages():
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    at.selectbox(key="pp.model.w").set_value("flipflop").run()
    assert_ok(at)
    table = at.dataframe[0].value
    stable = table[table["kind"] == "stable"]
    assert len(stable) == 8 and stable["head reads"].nunique() == 8
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value("flipflop").run()
    at.radio(key="mg.view.w").set_value("Ablation").run()
    assert_ok(at)
    assert any("change sign" in c.value for c in at.caption)


def test_a_bidirectional_two_layer_upload_renders_every_view():
    import io

    import torch

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(torch.nn.GRU(3, 5, 2, bidirectional=True, batch_first=True).state_dict(), buf)
    data = ("bi.pt", buf.getvalue(), "application/octet-stream")
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    at.selectbox(key="pp.model.w").set_value("upload a checkpoint").run()
    at.get("file_uploader")[0].set_value(data).run()
    at.selectbox(key="pp.layer").set_value(1).run()
    at.selectbox(key="pp.dir").set_value(1).run()
    assert_ok(at)
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value("upload a checkpoint").run()
    at.get("file_uploader")[0].set_value(data).run()
    at.selectbox(key="mg.layer").set_value(1).run()
    at.selectbox(key="mg.dir").set_value(1).run()
    for view in ("Memory", "Gradients through time", "Ablation"):
        at.radio(key="mg.view.w").set_value(view).run()
        assert_ok(at)
    assert any("every step" in c.value for c in at.caption)  # bidirectional: clamp throughout
