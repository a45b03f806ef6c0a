"""The explorer, phase-portrait and memory pages: what survives a page switch, caches keyed by
the exact input, predictions only from a matching head, corpus matches in the search's own
notation, and corpus files refused before they can exhaust memory."""

import io
import json
import pathlib
import zipfile

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gru_viz.analysis import units as an
from gru_viz.core.errors import InputError
from gru_viz.core.notation import NOTATIONS
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.ui import explorer_more
from gru_viz.ui.explorer_model import Loaded
from gru_viz.ui.explorer_more import read_corpus
from gru_viz.ui.state import Explorer
from tests.helpers import VOCAB, own_format, planted_model, saved

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPLORER, PORTRAIT, MEMORY = ("pages/5_Explorer.py", "pages/3_Phase_portrait.py",
                              "pages/4_Memory_and_gradients.py")
PLAYGROUND = "pages/1_Playground.py"
FLIPFLOP = ROOT / "assets" / "flipflop.pt"


def page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    return at.run()


def away_and_back(at: AppTest, path: str) -> AppTest:
    at.switch_page(PLAYGROUND).run()
    assert not at.exception
    return at.switch_page(path).run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def chart(at: AppTest, key: str) -> dict:
    """One Plotly chart's spec by its widget key."""
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id]
    assert len(specs) == 1, key
    return specs[0]


def chart_ids(at: AppTest) -> str:
    return " ".join(c.proto.id for c in at.get("plotly_chart"))


def text_area(at: AppTest, prefix: str):
    return next(t for t in at.text_area if t.key.startswith(prefix))


# --- 4. state survives a page switch ---------------------------------------------------------

@pytest.mark.skipif(not FLIPFLOP.exists(), reason="the trained 3-bit flip-flop is not built")
def test_explorer_keeps_a_shipped_model_its_input_and_view_across_pages():
    at = page(EXPLORER)
    at.sidebar.selectbox(key="ex.source.w").select("flipflop.pt").run()
    text_area(at, "ex.input.").set_value("1, 0, 0\n0, 0, 0\n0, -1, 0").run()
    at.radio(key="ex.view.w").set_value("Units").run()
    assert_ok(at)
    at = away_and_back(at, EXPLORER)
    assert_ok(at)
    assert at.sidebar.selectbox(key="ex.source.w").value == "flipflop.pt"
    assert text_area(at, "ex.input.").value == "1, 0, 0\n0, 0, 0\n0, -1, 0"
    assert at.radio(key="ex.view.w").value == "Units"


def test_explorer_keeps_an_uploaded_model_and_its_input_across_pages():
    at = page(EXPLORER)
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value(("mine.pt", own_format(),
                                                  "application/octet-stream")).run()
    text_area(at, "ex.input.").set_value("(([]))[").run()
    assert_ok(at)
    at = away_and_back(at, EXPLORER)
    assert_ok(at)
    assert at.sidebar.selectbox(key="ex.source.w").value == "upload a file"
    assert "mine.pt" in " ".join(c.value for c in at.caption)
    assert text_area(at, "ex.input.").value == "(([]))["
    assert at.get("plotly_chart")


@pytest.mark.skipif(not FLIPFLOP.exists(), reason="the trained 3-bit flip-flop is not built")
@pytest.mark.parametrize("path,prefix", [(PORTRAIT, "pp"), (MEMORY, "mg")])
def test_dynamics_pages_keep_their_model_and_input_across_pages(path, prefix):
    at = page(path)
    if prefix == "pp":
        at.radio(key="pp.source.w").set_value("a larger model").run()
    else:
        at.radio(key="mg.view.w").set_value("Ablation").run()
    at.selectbox(key=f"{prefix}.model.w").set_value("flipflop").run()
    text_area(at, f"{prefix}.text.").set_value("1, 0, 0; 0, 0, 0; 0, 1, 0; 0, 0, 0").run()
    assert_ok(at)
    at = away_and_back(at, path)
    assert_ok(at)
    assert at.selectbox(key=f"{prefix}.model.w").value == "flipflop"
    assert text_area(at, f"{prefix}.text.").value == "1, 0, 0; 0, 0, 0; 0, 1, 0; 0, 0, 0"
    if prefix == "pp":
        assert at.radio(key="pp.source.w").value == "a larger model"
    else:
        assert at.radio(key="mg.view.w").value == "Ablation"


def test_dynamics_page_keeps_an_uploaded_model_across_pages():
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value("upload a checkpoint").run()
    at.get("file_uploader")[0].set_value(("brackets6.pt", own_format(),
                                          "application/octet-stream")).run()
    text_area(at, "mg.text.").set_value("[[(])]").run()
    assert_ok(at)
    at = away_and_back(at, MEMORY)
    assert_ok(at)
    assert at.selectbox(key="mg.model.w").value == "upload a checkpoint"
    assert text_area(at, "mg.text.").value == "[[(])]"
    assert at.get("plotly_chart") and not at.info


# --- 1. predictions only from a head with one output per symbol ------------------------------

class ThreeSymbolsTwoOutputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.embedding = torch.nn.Embedding(3, 3)
        self.rnn = torch.nn.GRU(3, 4, batch_first=True)
        self.fc = torch.nn.Linear(4, 2)


def test_a_head_that_does_not_match_the_symbols_shows_no_probabilities():
    data = saved(ThreeSymbolsTwoOutputs().state_dict())
    ckpt = load_checkpoint(data)
    assert ckpt.embedding.shape[0] == 3 and ckpt.head_weight.shape[0] == 2
    at = page(EXPLORER)
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value(("three.pt", data,
                                                  "application/octet-stream")).run()
    text_area(at, "ex.input.").set_value("0 1 2 1 0").run()
    at.radio(key="ex.view.w").set_value("Predictions").run()
    assert not at.exception
    ids = chart_ids(at)
    assert "ex.head" in ids and "ex.pred" not in ids and "ex.topk" not in ids
    # a matching head still gives probabilities
    at.sidebar.get("file_uploader")[0].set_value(("own.pt", own_format(),
                                                  "application/octet-stream")).run()
    at.radio(key="ex.view.w").set_value("Predictions").run()
    assert "ex.pred" in chart_ids(at)


# --- 2. corpus matches in the notation of the unit search -------------------------------------

CORPUS = "xaxxbx\nyyyy\naxbxxaxxxx"


@pytest.mark.parametrize("made_in", ["course", "pytorch"])
def test_corpus_matches_use_the_notation_the_search_was_made_in(made_in):
    data = own_format(planted_model(H=6).astype(np.float32), VOCAB)
    loaded = Loaded(load_checkpoint(data), "planted.pt", "k")
    xs = read_corpus(loaded, CORPUS.encode(), "pasted")[0]
    units, thr = np.array([0]), np.full(6, 0.5)
    expected = {nt: sorted((m.seq, m.start, m.stop - m.start) for m in an.corpus_matches(
        loaded.ckpt.model, xs, 0, 0, "z", units, thr, NOTATIONS[nt], 1)) for nt in NOTATIONS}
    assert expected["course"] and expected["pytorch"]
    assert expected["course"] != expected["pytorch"]  # else this test shows nothing

    at = page(EXPLORER)
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value(("planted.pt", data,
                                                  "application/octet-stream")).run()
    model_key = at.session_state["ex.current"].key
    at.radio(key="ex.view.w").set_value("Corpus").run()
    at.text_area(key="ex.corpus_text").set_value(CORPUS).run()
    at.button(key="ex.corpus_go").click().run()
    at.session_state[Explorer.search.key] = {"model": model_key, "notation": made_in, "cell": (0, 0),
                                "field": "z", "sign": 1.0, "units": units, "threshold": thr,
                                "min_length": 1}
    at.run()
    at.button(key="ex.c_match").click().run()
    assert not at.exception
    rows = at.dataframe[0].value
    assert sorted(zip(rows["sequence"], rows["start"], rows["steps"])) == expected[made_in]


# --- 3. pages 3 and 4 cache by the exact input ------------------------------------------------

NEAR = ("0.12341, 0, 0; 1, 0, 0; 0, 0, -1; 0, 0, 0", "0.12349, 0, 0; 1, 0, 0; 0, 0, -1; 0, 0, 0")


def charts_for_near_inputs(at, text_key: str, chart_key: str) -> list[dict]:
    """The chart after typing each of the NEAR inputs."""
    specs = []
    for text in NEAR:
        text_area(at, text_key).set_value(text).run()
        assert_ok(at)
        specs.append(chart(at, chart_key))
    return specs


def test_gradients_of_inputs_equal_to_three_digits_differ():
    at = page(MEMORY)
    at.selectbox(key="mg.model.w").set_value("random GRU").run()
    at.radio(key="mg.view.w").set_value("Gradients through time").run()
    specs = charts_for_near_inputs(at, "mg.text.", "mg.g_heat")
    assert specs[0]["data"][0]["y"] == specs[1]["data"][0]["y"]  # the same rounded labels
    assert specs[0] != specs[1]


def test_phase_portraits_of_inputs_equal_to_three_digits_differ():
    at = page(PORTRAIT)
    at.radio(key="pp.source.w").set_value("a larger model").run()
    at.selectbox(key="pp.model.w").set_value("random GRU").run()
    specs = charts_for_near_inputs(at, "pp.text.", "pp.large")
    assert specs[0] != specs[1]


# --- 5. corpus files refused before they exhaust memory ---------------------------------------

def vectors() -> Loaded:
    return Loaded(load_checkpoint(saved(torch.nn.GRU(3, 4).state_dict())), "g.pt", "k")


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def test_a_zip_bomb_corpus_is_refused_before_unpacking():
    data = npz(a=np.zeros((10_000_000, 3)))  # 240 MB unpacked, ~233 KB packed
    assert len(data) < 300_000
    with pytest.raises(InputError, match="unpacks to 229 MB.*GRUVIZ_MAX_UPLOAD_MB"):
        read_corpus(vectors(), data, "c.npz")


def test_npz_corpus_steps_are_capped_from_the_headers(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")  # 640 steps in all
    ok = npz(a=np.ones((300, 3)), b=np.ones((300, 3)))
    assert len(read_corpus(vectors(), ok, "c.npz")[0]) == 2
    with pytest.raises(InputError, match="more than 640 steps"):
        read_corpus(vectors(), npz(a=np.ones((300, 3)), b=np.ones((341, 3))), "c.npz")


def test_a_npy_corpus_is_checked_from_its_header(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")
    assert len(read_corpus(vectors(), npy(np.ones((8, 80, 3))), "c.npy")[0]) == 8
    big = npy(np.ones((9, 80, 3)))
    with pytest.raises(InputError, match="more than 640 steps"):
        read_corpus(vectors(), big, "c.npy")
    # the header alone decides: a file claiming a huge array is refused without reading on
    header = big.replace(b"(9, 80, 3)", b"(9000000, 80, 3)")[:128]
    with pytest.raises(InputError, match="more than 640 steps"):
        read_corpus(vectors(), header, "c.npy")


@pytest.mark.parametrize("data", [b"PK\x03\x04garbage", b"PK" + b"\x00" * 40, b"garbage"])
def test_an_unreadable_corpus_file_is_an_input_error(data):
    with pytest.raises(InputError, match="not a readable"):
        read_corpus(vectors(), data, "c.npz")


def test_a_bad_member_in_a_npz_is_an_input_error():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.npy", b"not an array")
    with pytest.raises(InputError, match="not a readable"):
        read_corpus(vectors(), buf.getvalue(), "c.npz")


def test_text_and_id_corpora_are_capped(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "2")  # 128 steps (characters) in all
    text = Loaded(load_checkpoint(own_format()), "own.pt", "k")
    assert len(read_corpus(text, b"()\n" * 64, "c.txt", "line")[0]) == 64
    with pytest.raises(InputError, match="more than 128 characters"):
        read_corpus(text, b"()\n" * 64 + b"(", "c.txt", "line")

    class Ids(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(5, 3)
            self.rnn = torch.nn.GRU(3, 4, batch_first=True)

    ids = Loaded(load_checkpoint(saved(Ids().state_dict())), "ids.pt", "k")
    assert len(read_corpus(ids, b"1 2 3 4\n" * 32, "c.txt", "line")[0]) == 32
    assert [len(x) for x in read_corpus(ids, b"1 2 3 4\n" * 32, "c.txt")[0]] == [128]
    # ids are counted before they are parsed (~100 bytes an id at the peak), commas too
    monkeypatch.setattr(explorer_more, "parse_ids", lambda *a: pytest.fail("parsed"))
    for sep in (" ", ",", "\n"):
        with pytest.raises(InputError, match="more than 128 steps"):
            read_corpus(ids, sep.join(["1"] * 129).encode(), "c.txt", "line")
    # text is refused before it is encoded (12 bytes a character at its peak)
    monkeypatch.setattr(explorer_more, "text_documents", lambda *a: pytest.fail("encoded"))
    with pytest.raises(InputError, match="more than 128 characters"):
        read_corpus(text, b"(" * 129, "c.txt")
    with pytest.raises(InputError, match="more than 128 steps"):
        read_corpus(ids, b"1 2 3 4\n" * 32 + b"0", "c.txt")


# --- 6. explorer traces shared, not copied ---------------------------------------------------

def test_explorer_runs_are_shared_read_only_and_few():
    from gru_viz.ui import explorer_input as ei

    ckpt = load_checkpoint(own_format())
    x = np.eye(4)[[0, 1, 2, 3, 0]]
    first = ei._run("m", ei.input_key(x, None), ckpt, x, True)
    assert ei._run("m", ei.input_key(x, None), ckpt, x, True) is first  # no unpickled copy
    trace, head, probs = first
    assert not head.flags.writeable and not probs.flags.writeable
    assert not trace.layers[0][0].h.flags.writeable
