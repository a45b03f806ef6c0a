"""The Explorer opens models from elsewhere (Keras, ONNX, .npz, captures) like checkpoints,
offers a capture's recorded inputs, and lets the user override what detection found."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app_helpers import page, showing, upload
from tests.foreign_models import capture_bytes, keras_bytes, npz_bytes, onnx_bytes, recording

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras on NumPy 2


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_keras_onnx_and_npz_upload_and_render():
    at = page()
    for name, data, expect in (("m.keras", keras_bytes(), "bidirectional"),
                               ("m.onnx", onnx_bytes(), "reverse-only layer(s) 0"),
                               ("w.npz", npz_bytes(), "hidden size 4")):
        at = upload(at, name, data)
        assert_ok(at)
        assert name in showing(at) and expect in showing(at), (name, showing(at))
        assert at.get("plotly_chart")


def test_a_capture_offers_its_recorded_inputs():
    at = upload(page(), "run.gruviz.npz", capture_bytes())
    assert_ok(at)
    choice = next(s for s in at.selectbox if s.label == "Input")
    assert choice.options[:2] == ["captured sequence 0 (9 steps)",
                                  "captured sequence 1 (9 steps)"]
    choice.set_value(1).run()
    assert_ok(at)
    assert at.get("plotly_chart")


def test_overrides_drop_the_head_and_type_a_vocabulary():
    at = upload(page(), "m.keras", keras_bytes())
    head = next(s for s in at.selectbox if s.label == "Linear head")
    assert "out.weight" in head.options
    head.set_value("(none)").run()
    assert_ok(at)
    assert "linear head" not in showing(at)
    vocab = next(s for s in at.selectbox if s.label == "Vocabulary")
    vocab.set_value("(type one)").run()
    at.text_input[0].set_value("abc").run()  # the model reads 3 inputs: one-hot a, b, c
    assert_ok(at)
    assert "vocabulary of 3" in showing(at)


def test_recording_matches_what_the_app_runs():
    rec = recording()
    from gru_viz.io.checkpoint import load_checkpoint

    ckpt = load_checkpoint(capture_bytes())
    cap = ckpt.capture
    from gru_viz.core.engine import run

    tr = run(ckpt.model, cap["x"][1], cap["h0"][:, 1])
    assert np.abs(tr.output - rec[0].output[1]).max() <= 1e-5


def test_phase_portrait_and_memory_pages_open_a_capture_and_a_keras_file():
    from tests.app_helpers import MEMORY, PORTRAIT
    from tests.app_helpers import entered as page_at

    for path, prefix in ((PORTRAIT, "pp"), (MEMORY, "mg")):
        for name, data in (("run.gruviz.npz", capture_bytes()), ("m.keras", keras_bytes())):
            at = page_at(path)
            if prefix == "pp":
                at.radio(key="pp.source.w").set_value("a larger model").run()
            at.selectbox(key=f"{prefix}.model.w").set_value("upload a checkpoint").run()
            at.get("file_uploader")[0].set_value((name, data, "application/octet-stream")).run()
            assert_ok(at)
            assert at.get("plotly_chart"), (path, name)
            if name.startswith("run"):  # the input box starts with the recorded sequence
                rec = recording()
                first = at.text_area[0].value.replace(";", "\n").split("\n")[0]
                assert np.allclose([float(v) for v in first.split(",")], rec[0].x[0, 0],
                                   atol=1e-6)
