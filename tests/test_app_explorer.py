"""The explorer page in AppTest: shipped and uploaded checkpoints of every kind, bad files,
the unit search on a planted unit, the corpus, the comparison, and exports that round trip."""

import io
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save
from streamlit.testing.v1 import AppTest

from gru_viz.api import run_checkpoint
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.ui.explorer_input import Run
from gru_viz.ui.explorer_model import Loaded, shipped_files
from gru_viz.ui.explorer_more import trace_file
from tests.app_helpers import page, showing, upload
from tests.helpers import VOCAB, gru, own_format, planted_model, saved


class Net(torch.nn.Module):
    """Embedding -> GRU -> linear head, no vocabulary: the input is token ids."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.embedding = torch.nn.Embedding(7, 3)
        self.rnn = torch.nn.GRU(3, 4, 2, batch_first=True)
        self.fc = torch.nn.Linear(4, 7)


KINDS = {  # file name -> bytes, one per kind of checkpoint the loader supports
    "own.pt": lambda: own_format(),
    "raw_bidirectional.pt": lambda: saved(gru(3, 5, 2, True).state_dict()),
    "lightning_ids.ckpt": lambda: saved({"state_dict": {f"model.{k}": v for k, v in
                                                        Net().state_dict().items()},
                                         "pytorch-lightning_version": "2.4.0"}),
    "weights.safetensors": lambda: st_save({k: v.contiguous() for k, v in
                                            gru(2, 4).state_dict().items()}),
    "cell.pth": lambda: saved({"cell": torch.nn.GRUCell(3, 4).state_dict()}),
    "two.pt": lambda: saved({**{f"enc.{k}": v for k, v in gru(3, 4).state_dict().items()},
                             **{f"dec.{k}": v for k, v in gru(4, 6).state_dict().items()}}),
}
BAD = {  # file name -> (bytes, part of the message)
    "empty.pt": (b"", "empty"),
    "text.pt": (b"hello, this is not a checkpoint", "not a model file gru-viz recognises"),
    "pickled.pt": (pickle.dumps({"a": 1}), "plain Python pickle"),
    "lstm.pt": (saved(torch.nn.LSTM(3, 4).state_dict()), "No GRU found"),
    "truncated.pt": (saved(gru().state_dict())[:700], "truncated or corrupt"),
}



def view(at: AppTest, name: str) -> AppTest:
    return at.radio(key="ex.view.w").set_value(name).run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]



@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.name)
def test_each_shipped_model_loads_and_renders_every_view(path):
    at = page()
    at.sidebar.selectbox(key="ex.source.w").select(path.name).run()
    assert_ok(at)
    assert path.name in showing(at)
    assert at.get("plotly_chart"), "the gate heatmaps are drawn"
    for v in at.radio(key="ex.view.w").options:
        assert_ok(view(at, v))


@pytest.mark.parametrize("name", KINDS)
def test_an_uploaded_checkpoint_of_each_kind_works(name):
    at = upload(page(), name, KINDS[name]())
    assert_ok(at)
    assert name in showing(at)
    assert at.get("plotly_chart")
    if name == "two.pt":  # a choice of GRU, and the other one renders too
        choice = at.sidebar.selectbox[-1]
        assert set(choice.options) == {"enc", "dec"}
        choice.select("dec").run()
        assert_ok(at)
        assert "hidden size 6" in showing(at)
    for v in ("Units", "Saturation", "Compare"):
        assert_ok(view(at, v))


def test_switching_model_and_input_length_keeps_the_page_valid():
    at = upload(page(), "own.pt", own_format())
    at.text_area[0].set_value("([()])" * 100).run()  # long enough for every window slider
    for v in ("Predictions", "Unit search", "Units", "Gates"):
        view(at, v)
        for s in at.slider:
            s.set_value(s.max if isinstance(s.value, int) else s.value).run()
        at.text_area[0].set_value("([])").run()  # much shorter
        assert_ok(at)
        at.text_area[0].set_value("([()])" * 100).run()
    view(at, "Predictions")
    at.sidebar.get("file_uploader")[0].set_value(("raw.pt", KINDS["raw_bidirectional.pt"](),
                                          "application/octet-stream")).run()
    assert_ok(at)  # no head: the view falls back to the gates
    assert at.radio(key="ex.view.w").value == "Gates" and "Predictions" not in \
        at.radio(key="ex.view.w").options


def test_each_bad_file_shows_its_message_and_the_previous_model_stays():
    at = upload(page(), "good.pt", own_format())
    assert_ok(at)
    for name, (data, message) in BAD.items():
        at.sidebar.get("file_uploader")[0].set_value((name, data, "application/octet-stream")).run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert message in errors and "Still showing good.pt" in errors, (name, errors)
        assert "good.pt" in showing(at) and at.get("plotly_chart")


def test_unit_search_finds_the_planted_unit_and_its_corpus_matches():
    at = upload(page(), "planted.pt", own_format(planted_model(H=6).astype(np.float32), VOCAB))
    at.text_area[0].set_value("xxaxxybxxxayxbxx").run()
    view(at, "Unit search")
    next(s for s in at.slider if s.label.startswith("Span")).set_value((2, 6)).run()
    assert_ok(at)
    assert at.success and at.success[0].value.startswith("1 unit(s) on over 'axxy': 3.")
    spans = at.dataframe[0].value
    assert list(spans["start"]) == [2, 10] and list(spans["stop"]) == [6, 13]
    at.radio(key="ex.search_sign").set_value("low").run()  # −1 from 'b' to the next 'a'
    next(s for s in at.slider if s.label.startswith("Span")).set_value((6, 10)).run()
    assert at.success[0].value.startswith("1 unit(s) on over 'bxxx': 3.")
    at.radio(key="ex.search_sign").set_value("high").run()
    next(s for s in at.slider if s.label.startswith("Span")).set_value((2, 6)).run()
    view(at, "Corpus")
    at.text_area(key="ex.corpus_text").set_value("xaxxbx\nyyyy\naxbxxaxxxx").run()
    at.button(key="ex.corpus_go").click().run()
    assert_ok(at)
    assert len(at.get("plotly_chart")) == 2  # saturation scatter and expected response
    at.button(key="ex.c_match").click().run()
    rows = at.dataframe[0].value  # one sequence, the newlines (not in VOCAB) skipped
    assert sorted(zip(rows["sequence"], rows["start"], rows["steps"])) == [
        (0, 1, 3), (0, 10, 2), (0, 15, 5)]
    assert rows["match"][0] == "axxxx"  # longest first
    at.radio(key="ex.corpus_split").set_value("line").run()  # each line a sequence
    at.button(key="ex.corpus_go").click().run()
    at.button(key="ex.c_match").click().run()
    rows = at.dataframe[0].value
    assert sorted(zip(rows["sequence"], rows["start"], rows["steps"])) == [
        (0, 1, 3), (2, 0, 2), (2, 5, 5)]


def test_compare_aligns_an_edited_input():
    at = upload(page(), "own.pt", own_format())
    at.text_area[0].set_value("(([]))").run()
    view(at, "Compare")
    at.text_area[1].set_value("(([)))").run()
    assert_ok(at)
    assert any("6 aligned steps, 1 edited" in m.value for m in at.markdown)
    at.text_area[1].set_value("((x[]))").run()  # unknown symbol: reported, skipped
    assert any("'x'" in w.value for w in at.warning)


@pytest.mark.parametrize("fmt", ["npz", "json", "csv"])
def test_exports_round_trip(fmt):
    ckpt = load_checkpoint(own_format())
    res = run_checkpoint(ckpt, text="([])[")
    loaded = Loaded(ckpt, "own.pt", "key")
    r = Run("key", "key", np.zeros((5, 4)), list(res.tokens), list(res.tokens), None, res.trace,
            res.probs, res.head_output, True)
    data = trace_file(loaded, r, fmt)
    cell = res.trace.layers[0][0]
    if fmt == "npz":
        z = np.load(io.BytesIO(data))
        for f in ("x", "r", "z", "n", "h"):
            assert np.array_equal(z[f"l0.{f}"], getattr(cell, f))
        assert np.array_equal(z["probs"], res.probs)
        assert list(z["tokens"]) == list("([])[")
        assert "own.pt" in str(z["description"])
    elif fmt == "json":
        import json
        doc = json.loads(data)
        assert np.allclose(doc["cells"][0]["z"], cell.z, atol=0, rtol=1e-7)
        assert doc["description"]["file"] == "own.pt"
    else:
        body = [line for line in data.splitlines() if not line.startswith("#")]
        assert len(body) == 1 + cell.z.size * ckpt.model.num_layers


def npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_a_corpus_text_over_the_step_limit_runs_whole(monkeypatch):
    """The whole text is one sequence: over GRUVIZ_MAX_STEPS it runs in segments carrying
    the state (it was refused), its matches found across the segments' edges."""
    at = upload(page(), "planted.pt", own_format(planted_model(H=6).astype(np.float32), VOCAB))
    at.text_area[0].set_value("xxaxxybx").run()
    view(at, "Unit search")
    next(s for s in at.slider if s.label.startswith("Span")).set_value((2, 6)).run()
    view(at, "Corpus")
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "8")
    at.text_area(key="ex.corpus_text").set_value("xaxxbx\nyyyy\naxbxxaxxxx").run()
    at.button(key="ex.corpus_go").click().run()
    assert_ok(at)
    at.button(key="ex.c_match").click().run()
    rows = at.dataframe[0].value  # 20 steps, run as 8 + 8 + 4
    assert sorted(zip(rows["sequence"], rows["start"], rows["steps"])) == [
        (0, 1, 3), (0, 10, 2), (0, 15, 5)]


def test_a_numeric_corpus_runs_and_a_bad_one_says_why():
    at = upload(page(), "raw.pt", KINDS["raw_bidirectional.pt"]())
    view(at, "Corpus")
    at.file_uploader(key="ex.corpus_file").set_value((
        "c.npy", npy(np.random.default_rng(0).normal(size=(5, 9, 3))),
        "application/octet-stream")).run()
    at.button(key="ex.corpus_go").click().run()
    assert_ok(at)
    assert any("5 sequences, 45 steps" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1  # saturation; no ids, so no expected response
    at.file_uploader(key="ex.corpus_file").set_value(
        ("c.npy", npy(np.ones((4, 2))), "application/octet-stream")).run()
    at.button(key="ex.corpus_go").click().run()
    assert "the model takes 3" in " ".join(e.value for e in at.error)


def test_long_inputs_are_cut_at_the_limit_with_a_notice(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "50")
    at = upload(page(), "own.pt", own_format())
    at.text_area[0].set_value("([])" * 20).run()
    assert_ok(at)
    assert any("80 steps; the first 50 are run" in i.value for i in at.info)


def test_ids_and_numeric_files_as_input():
    at = upload(page(), "ids.ckpt", KINDS["lightning_ids.ckpt"]())
    at.text_area[0].set_value("1 2 9").run()
    assert "ids go from 0 to 6" in " ".join(e.value for e in at.error)
    at.text_area[0].set_value("1 2 6 0").run()
    assert_ok(at)
    at = upload(page(), "raw.pt", KINDS["raw_bidirectional.pt"]())
    at.file_uploader(key=next(f.key for f in at.get("file_uploader") if f.key.endswith(".file"))
                     ).set_value(("x.npy", npy(np.ones((7, 3))), "application/octet-stream")).run()
    assert_ok(at)
    assert at.get("plotly_chart")


def test_a_figure_exports_as_standalone_html():
    from gru_viz.figures.files import figure_html
    page = figure_html({"data": [{"type": "heatmap", "z": np.eye(3, dtype=np.float32)}],
                        "layout": {"height": 300}})
    assert "<html>" in page[:100] and "Plotly.newPlot" in page
    assert "<script src=\"http" not in page  # plotly.js inlined: works offline
