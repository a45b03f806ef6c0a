"""Each page's main interaction through the real UI in Chromium: the charts must change, and
where the page's numbers can be recomputed, they must equal the library's (or torch's).

The Playground and Step-through pages write their whole state into the URL, so after each
action the test recomputes the run the URL describes and compares it with the chart data.
"""

from __future__ import annotations

import pathlib
import re
import urllib.parse

import numpy as np
import pytest

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import gradients as gr
from gru_viz.core.model import GRUModel
from gru_viz.figures.traces import FIELDS
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.inputs import parse_rows
from gru_viz.teaching.presets import DEFAULT
from gru_viz.teaching.urlstate import (
    pack_weights,
    unpack_weights,
    weights_from_json,
    weights_to_json,
)
from tests.browser import ROOT, AppPage, expected, params_of

pytestmark = pytest.mark.browser


def heatmaps(app: AppPage) -> dict[str, np.ndarray]:
    """The playground's four heatmaps (the first chart), field -> (H, T)."""
    traces = app.figures()[0]["data"]
    assert [t["type"] for t in traces] == ["heatmap"] * 5  # and the input track
    assert traces[4]["name"] == "input"
    return {f: t["z"] for f, t in zip(FIELDS, traces)}


def assert_shows(app: AppPage, want: dict[str, np.ndarray]) -> None:
    got = heatmaps(app)
    for f in FIELDS:
        np.testing.assert_allclose(got[f], want[f], atol=2e-6, err_msg=f)


def checked(app: AppPage, group: str, option: str) -> bool:
    return app.widget("stRadio", group).locator("label").filter(
        has_text=option).locator("input").is_checked()


# --- Playground ------------------------------------------------------------------------------

def test_playground_typing_and_a_weight_slider(opened):
    app = opened("Playground")
    assert params_of(app.page.url)["p"] == DEFAULT
    assert_shows(app, expected(params_of(app.page.url)))
    app.shot("Playground-1-default", tall=True)

    with app.changing():
        app.type_text("Input sequence", "1; 0.5; -1; 0")
    params = params_of(app.page.url)
    assert params["x"] == "1; 0.5; -1; 0"
    assert heatmaps(app)["h"].shape == (2, 4)
    assert_shows(app, expected(params))

    with app.changing():
        app.slide("W_ux[0, 0]")  # 0.00 -> 0.10: unit 0's update gate now follows the input
    params = params_of(app.page.url)
    w = unpack_weights(params["w"])  # edited weights travel in the link
    assert w.W_iz[0, 0] == np.float32(-0.1)  # course: W_ux = −W_iz (raising it opens Γu)
    assert app.widget("stSlider", "W_ux[0, 0]").locator(
        "[data-testid='stSliderThumbValue']").inner_text() == "0.10"
    assert_shows(app, expected(params))

    # an input that does not read: an error, and the plots keep the last input that worked
    before = heatmaps(app)
    app.type_text("Input sequence", "1; 2, 3")
    app.page.get_by_text("The plots show the last input that worked").wait_for()
    app.wait_idle()
    for f in FIELDS:
        np.testing.assert_array_equal(heatmaps(app)[f], before[f])
    app.shot("Playground-2-typed-and-slid", tall=True)


def test_playground_preset_notation_and_reset_placement(opened):
    app = opened("Playground")
    with app.changing():
        app.select("Preset", "Trained: flipflop2")
    params = params_of(app.page.url)
    assert (params["p"], params["n"], params["r"]) == ("trained-flipflop2", "course", "after")
    assert_shows(app, expected(params))
    course = heatmaps(app)

    with app.changing():
        app.choose("Notation", "PyTorch")
    assert params_of(app.page.url)["n"] == "pytorch"
    pytorch = heatmaps(app)
    # the update-gate panel now shows z = 1 − Γu; the other panels do not change
    np.testing.assert_allclose(pytorch["z"], 1 - course["z"], atol=1e-6)
    for f in "rnh":
        np.testing.assert_array_equal(pytorch[f], course[f])
    assert app.figures()[0]["layout"]["annotations"][0].startswith("update gate z")
    assert_shows(app, expected(params_of(app.page.url)))

    with app.changing():
        app.choose("Where the reset gate acts", "reset before")
    params = params_of(app.page.url)
    assert params["r"] == "before"
    before = heatmaps(app)
    assert not np.allclose(before["n"], pytorch["n"], atol=1e-3)
    assert_shows(app, expected(params))
    assert "reset before" in app.page.locator("[data-testid='stMarkdownContainer']").filter(
        has_text="Equations in force").inner_text()
    app.shot("Playground-3-preset-pytorch-reset-before", tall=True)


def test_playground_weights_file_upload(opened, tmp_path):
    w = GRUModel.random(1, 3, seed=5).cells[0][0]  # 3 units: the matrix editors
    good, bad = tmp_path / "w.json", tmp_path / "bad.json"
    good.write_text(weights_to_json(w))
    bad.write_text("{not json")
    app = opened("Playground")
    with app.changing():
        app.upload("Upload weights (JSON)", good)
    params = params_of(app.page.url)
    assert unpack_weights(params["w"]).hidden_size == 3 and "p" not in params
    assert heatmaps(app)["h"].shape[0] == 3
    assert_shows(app, expected(params))
    assert app.page.locator("[data-testid='stDataFrame']").count() == 1  # the open gate's

    app.upload("Upload weights (JSON)", bad)
    app.page.get_by_text("The previous weights stay in force").wait_for()
    app.wait_idle()
    assert params_of(app.page.url)["w"] == params["w"]
    assert_shows(app, expected(params))


def test_playground_download_follows_a_weight_slider(opened):
    """The sidebar's download serves the weights in force after a slider moved (a slider
    reruns only the editors' fragment: the sidebar's button is not drawn again)."""
    app = opened("Playground")
    for _ in range(2):
        with app.changing():
            app.slide("W_ux[0, 0]")
    with app.page.expect_download() as download:
        app.page.get_by_text("Download weights (JSON)").click()
    got, _ = weights_from_json(pathlib.Path(download.value.path()).read_bytes())
    want = unpack_weights(params_of(app.page.url)["w"])  # the link: the weights in force
    assert got.W_iz[0, 0] == pytest.approx(-0.2)  # course notation: W_ux = −W_iz
    for name, a in want.fused().items():
        np.testing.assert_allclose(got.fused()[name], a, atol=1e-6, err_msg=name)


# --- Step through ----------------------------------------------------------------------------

def step_shown(app: AppPage) -> int:
    """The timestep Step through's time component shows (it moves in the browser)."""
    app.page.wait_for_function("() => window.__gruviz_timeline !== undefined", timeout=30_000)
    return app.page.evaluate("() => window.__gruviz_timeline.t")


def test_step_through_next_and_previous(opened):
    app = opened("Step_through")
    assert step_shown(app) == 0
    app.page.get_by_text("Step t = 0").wait_for()
    app.shot("Step_through-1-default", tall=True)
    for button, want in (("next ▶", 1), ("next ▶", 2), ("◀ previous", 1), ("◀ previous", 0)):
        app.page.locator(".gv button", has_text=button).click()
        assert step_shown(app) == want
        app.page.get_by_text(f"Step t = {want},").wait_for()
        assert params_of(app.page.url)["t"] == str(want)
    # at the start "previous" is off: time does not wrap round
    assert app.page.locator(".gv button", has_text="◀ previous").is_disabled()
    app.shot("Step_through-2-after-next-and-previous", tall=True)


# --- Phase portrait --------------------------------------------------------------------------

def drawn_points(fig: dict) -> np.ndarray:
    """Fixed and slow points of a phase portrait: the marker traces named 'kind (count)'."""
    pts = [np.column_stack([t["x"], t["y"]]) for t in fig["data"]
           if re.fullmatch(r"[a-z ]+ \(\d+\)", t["name"] or "")]
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def library_points(w00: float) -> np.ndarray:
    p = next(iter(dy.PLANE_PRESETS.values()))
    W = ((w00, p.W_hn[0][1]), (p.W_hn[1][0], p.W_hn[1][1]))
    pts = dy.fixed_points(dy.two_unit(W, p.b_n, p.b_z), np.zeros(2))
    return np.array([pt.h for pt in pts])


def same_points(a: np.ndarray, b: np.ndarray) -> None:
    assert len(a) == len(b)
    np.testing.assert_allclose(a[np.lexsort(a.T)], b[np.lexsort(b.T)], atol=1e-6)


def test_phase_portrait_recurrent_weight_slider(opened):
    app = opened("Phase_portrait")
    first = next(iter(dy.PLANE_PRESETS.values()))
    before = drawn_points(app.figures()[0])
    same_points(before, library_points(first.W_hn[0][0]))
    app.shot("Phase_portrait-1-default", tall=True)
    with app.changing():
        app.slide("W_cc[0,0]", "End")  # course name of W_hn[0,0]; unit 0's self-excitation to 3: one point becomes three
    after = drawn_points(app.figures()[0])
    same_points(after, library_points(3.0))
    assert len(after) == len(before) + 2
    app.shot("Phase_portrait-2-self-excitation-3", tall=True)


# --- Memory and gradients --------------------------------------------------------------------

def test_memory_page_switches_view(opened):
    app = opened("Memory_and_gradients")
    titles = [f["layout"]["title"] for f in app.figures()]
    assert any("Retention" in t for t in titles)
    app.shot("Memory_and_gradients-1-default", tall=True)
    with app.changing():
        app.choose("Show", "Gradients through time")
    figs = app.figures()
    assert not any("Retention" in f["layout"]["title"] for f in figs)
    heat = next(f for f in figs if "∂y/∂x" in f["layout"]["title"]
                and f["data"][0]["type"] == "heatmap")
    g = heat["data"][0]["z"]  # log10 ‖∂y/∂x_s‖ of the GRU, a vanilla RNN and an LSTM
    text = "(([])[()])([[]](("  # the default input of the first shipped model (brackets)
    assert g.shape == (3, len(text)) and np.isfinite(g).all()
    ck = load_checkpoint(ROOT / "assets" / "brackets.pt")
    x = ck.vocabulary.one_hot(ck.vocabulary.encode(text))
    gru = gr.gru_connectivity(ck.model.astype(np.float64), x, gr.Target(len(text) - 1, unit=0))
    np.testing.assert_allclose(g[0], np.log10(gru.inputs), atol=1e-4)
    assert app.drawn_charts() == len(figs)
    app.shot("Memory_and_gradients-2-gradients", tall=True)


# --- Explorer --------------------------------------------------------------------------------

def metric(app: AppPage, label: str) -> str:
    box = app.page.locator("[data-testid='stMetric']").filter(has_text=label)
    return box.locator("[data-testid='stMetricValue']").inner_text()


def explorer_heatmaps(app: AppPage) -> dict[str, np.ndarray]:
    traces = app.figures()[0]["data"]
    return {f: t["z"] for f, t in zip(FIELDS, traces)}


def test_explorer_shipped_model_and_typed_text(opened):
    from gru_viz import trace_checkpoint

    app = opened("Explorer")
    assert metric(app, "Hidden size") == "24"  # brackets.pt, the first shipped model
    app.shot("Explorer-1-default", tall=True)
    with app.changing():
        app.select("Model", "pysource.pt")
    assert metric(app, "Hidden size") == "128"
    text = "def f(x):\n    return x + 1\n"
    with app.changing():
        app.type_text("Input", text)
    got = explorer_heatmaps(app)
    want = trace_checkpoint(ROOT / "assets" / "pysource.pt", text=text).trace.layers[0][0]
    assert got["h"].shape == (128, len(text))
    np.testing.assert_allclose(got["h"], want.h.T, atol=1e-5)  # units in index order
    np.testing.assert_allclose(got["z"], 1 - want.z.T, atol=1e-5)  # course notation: Γu
    app.shot("Explorer-2-pysource-typed", tall=True)


def test_explorer_upload_then_a_bad_upload(opened, tmp_path):
    import torch

    from gru_viz.ui.explorer_input import default_input

    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 5, batch_first=True)
    good = tmp_path / "tiny_gru.pt"
    torch.save(gru.state_dict(), good)
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"this is not a checkpoint")

    app = opened("Explorer")
    with app.changing():
        app.select("Model", "upload a file")
        app.upload("Model file", good)
    assert (metric(app, "Hidden size"), metric(app, "Input size")) == ("5", "3")
    x = parse_rows(default_input(load_checkpoint(good)), 3)
    with torch.no_grad():
        h = gru(torch.tensor(x, dtype=torch.float32)[None])[0][0].numpy()
    got = explorer_heatmaps(app)
    np.testing.assert_allclose(got["h"], h.T, atol=1e-5)
    app.shot("Explorer-3-uploaded-state-dict", tall=True)

    app.upload("Model file", bad)
    app.page.locator("[data-testid='stAlert']").filter(
        has_text="Still showing tiny_gru.pt").wait_for()
    app.wait_idle()
    assert "not a model file gru-viz recognises" in app.page.locator("[data-testid='stAlert']").filter(
        has_text="Still showing").inner_text()
    assert metric(app, "Hidden size") == "5"
    after = explorer_heatmaps(app)
    for f in FIELDS:
        np.testing.assert_array_equal(after[f], got[f])
    app.shot("Explorer-4-bad-upload-keeps-model", tall=True)


# --- Shared links ----------------------------------------------------------------------------

def test_a_shared_link_opens_the_exact_view(opened):
    w = GRUModel.random(1, 2, seed=3, dtype=np.float32).cells[0][0]
    params = {"w": pack_weights(w), "x": "1; -1; 0.5; 0; 2", "n": "pytorch", "r": "after",
              "t": "3"}
    link = urllib.parse.urlencode(params)
    want = expected(params)

    app = opened(f"Playground?{link}")
    assert params_of(app.page.url) == params  # read as it is; nothing rewritten
    assert checked(app, "Notation", "PyTorch") and checked(app, "Where the reset gate acts",
                                                            "reset after")
    assert app.widget("stTextInput", "Input sequence").locator("input").input_value() \
        == params["x"]
    assert app.widget("stSelectbox", "Preset").locator("input").input_value() \
        == "your own weights"
    value = app.widget("stSlider", "W_hz[1, 0]").locator(
        "[data-testid='stSliderThumbValue']").inner_text()
    assert value == f"{w.W_hz[1, 0]:.2f}"
    assert_shows(app, want)
    app.shot("Playground-4-shared-link", tall=True)

    step = opened(f"Step_through?{link}")
    assert params_of(step.page.url) == params
    assert step_shown(step) == 3
    step.page.get_by_text("Step t = 3,").wait_for()
    series = step.page.evaluate("() => window.__gruviz_timeline.data.series")
    for f, line in zip(FIELDS, series):  # unit 0's four fields
        np.testing.assert_allclose(line["y"], want[f][0], atol=2e-5)
    step.shot("Step_through-3-shared-link", tall=True)
