"""In Chromium: upload a Keras .keras, an ONNX model and a gru-viz capture in the Explorer and
check the heatmaps' data against the library (and the capture against the torch module)."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.figures.traces import FIELDS
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.inputs import parse_rows
from gru_viz.ui.explorer_input import default_input
from tests.browser import AppPage
from tests.foreign_models import keras_bytes, onnx_bytes, recording

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def explorer(server, browser):
    app = AppPage(browser, f"{server}/Explorer")
    yield app
    try:
        assert app.exceptions() == [] and app.errors == []
    finally:
        app.close()


def metric(app: AppPage, label: str) -> str:
    box = app.page.locator("[data-testid='stMetric']").filter(has_text=label)
    return box.locator("[data-testid='stMetricValue']").inner_text()


def heatmaps(app: AppPage) -> dict[str, np.ndarray]:
    return {f: t["z"] for f, t in zip(FIELDS, app.figures()[0]["data"])}


def uploaded(app: AppPage, path, hidden: str) -> dict[str, np.ndarray]:
    with app.changing():
        app.upload("Model file", path)
    app.page.locator("[data-testid='stMetric']").filter(has_text="Hidden size").filter(
        has_text=hidden).wait_for()
    app.wait_idle()
    return heatmaps(app)


def test_keras_onnx_and_capture_uploads_show_the_library_numbers(explorer, tmp_path):
    app = explorer
    with app.changing():
        app.select("Model", "upload a file")
        # .keras: Bidirectional(GRU(4)) -> Dense(2); the forward direction is shown first
        path = tmp_path / "bigru.keras"
        path.write_bytes(keras_bytes())
        app.upload("Model file", path)
    app.page.locator("[data-testid='stMetric']").filter(has_text="Directions").filter(
        has_text="2").wait_for()
    app.wait_idle()
    ckpt = load_checkpoint(path)
    x = parse_rows(default_input(ckpt), ckpt.model.input_size)
    want = run(ckpt.model, x).layers[0][0]
    got = heatmaps(app)
    np.testing.assert_allclose(got["h"], want.h.T, atol=1e-5)
    np.testing.assert_allclose(got["r"], want.r.T, atol=1e-5)
    app.shot("Explorer-keras-upload", tall=True)

    # .onnx: a reverse-only GRU, reset before (linear_before_reset=0)
    path = tmp_path / "reverse.onnx"
    path.write_bytes(onnx_bytes("reverse", 0))
    got = uploaded(app, path, "5")
    ckpt = load_checkpoint(path)
    x = parse_rows(default_input(ckpt), ckpt.model.input_size)
    want = run(ckpt.model, x).layers[0][0]
    assert want.reverse
    np.testing.assert_allclose(got["h"], want.h.T, atol=1e-5)
    app.shot("Explorer-onnx-upload", tall=True)

    # a capture: the Input box offers the recorded sequences, run from their recorded h0
    rec = recording()
    path = rec.save(tmp_path / "run.gruviz.npz")
    got = uploaded(app, path, "4")
    module_h = rec[0].output[0]  # what the torch module itself computed, (T, H)
    np.testing.assert_allclose(got["h"], module_h.T, atol=1e-5)
    with app.changing():
        app.select("Input", "captured sequence 1 (9 steps)")
    np.testing.assert_allclose(heatmaps(app)["h"], rec[0].output[1].T, atol=1e-5)
    app.shot("Explorer-capture-upload", tall=True)
