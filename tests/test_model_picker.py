"""One model picker for the Explorer and the dynamics pages: a failed upload keeps the model
in use on both, and a model with an embedding but no vocabulary reads token ids on both."""

import io

import numpy as np
from streamlit.testing.v1 import AppTest

from gru_viz.core.model import GRUModel
from gru_viz.io.savefile import save_checkpoint
from tests.app_helpers import ROOT

MEMORY = "pages/4_Memory_and_gradients.py"


def open_memory() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(MEMORY)
    return at.run()


def embedding_only() -> bytes:
    """An embedding (5 symbols × 3) into a GRU, no vocabulary, no head."""
    buf = io.BytesIO()
    save_checkpoint(buf, GRUModel.random(3, 4, seed=1),
                    embedding=np.random.default_rng(0).normal(size=(5, 3)))
    return buf.getvalue()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.selectbox(key="mg.model.w").set_value("upload a checkpoint").run()
    at.get("file_uploader")[0].set_value((name, data, "application/octet-stream")).run()
    return at


def test_a_failed_upload_keeps_the_previous_model_on_the_dynamics_pages():
    at = upload(open_memory(), "good.pt", embedding_only())
    assert not at.exception and not at.error
    before = at.session_state["mg.model.current"].key
    upload(at, "bad.pt", b"junk")
    assert not at.exception
    assert any("Still showing good.pt" in e.value for e in at.error)
    assert at.session_state["mg.model.current"].key == before
    assert at.get("plotly_chart")  # the previous model's views are still drawn


def test_an_embedding_only_model_reads_token_ids_on_the_dynamics_pages():
    at = upload(open_memory(), "emb.pt", embedding_only())
    box = next(t for t in at.text_area if t.key.startswith("mg.text."))
    assert "token ids 0..4" in box.label
    box.set_value("0 4 2 2 1").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    box = next(t for t in at.text_area if t.key.startswith("mg.text."))
    box.set_value("0 9").run()
    assert any("9" in e.value for e in at.error)


def test_read_typed_embeds_ids_without_a_vocabulary():
    from gru_viz.io.inputs import read_typed

    emb = np.arange(15.0).reshape(5, 3)
    x, symbols = read_typed("0 4 2", 3, None, emb)
    np.testing.assert_array_equal(x, emb[[0, 4, 2]])
    assert symbols == ["0", "4", "2"]
