"""The explorer reads a corpus statistics file: its views from the file, the unit search's
matches over the whole corpus, and a file made for another model refused."""

import io

import numpy as np

from gru_viz.analysis.corpus import corpus_stats
from gru_viz.io.checkpoint import load_checkpoint
from tests.app_helpers import page, upload
from tests.helpers import VOCAB, own_format, planted_model


def stats_bytes(tmp_path, ckpt_bytes, text):
    (tmp_path / "c.txt").write_text(text)
    s = corpus_stats(load_checkpoint(ckpt_bytes), tmp_path / "c.txt", batch=2, chunk=8,
                     threads=1, top_k=4, context=3, progress=False)
    buf = io.BytesIO()
    out = tmp_path / "s.gruviz-corpus.npz"
    s.save(out)
    buf.write(out.read_bytes())
    return buf.getvalue()


def view(at, name):
    return at.radio(key="ex.view.w").set_value(name).run()


def test_the_explorer_shows_a_statistics_file_and_whole_corpus_matches(tmp_path):
    model = own_format(planted_model(H=6).astype(np.float32), VOCAB)
    data = stats_bytes(tmp_path, model, "xxaxxybxxxayxbxx\nyaxxxxbyy\n" * 5)
    at = upload(page(), "planted.pt", model)
    at.text_area[0].set_value("xxaxxybxxxayxbxx").run()
    view(at, "Unit search")
    next(s for s in at.slider if s.label.startswith("Span")).set_value((2, 6)).run()
    assert at.success[0].value.startswith("1 unit(s) on over 'axxy': 3.")
    view(at, "Corpus")
    at.radio(key="ex.corpus_source").set_value("Statistics file").run()
    at.file_uploader(key="ex.cstats_file").set_value(
        ("s.gruviz-corpus.npz", data, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # the newlines are not in this vocabulary: 10 of 135 characters left out
    assert any("125 tokens in 1 document" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # saturation and expected response
    assert any("accuracy" in m.value for m in at.markdown)
    tops, matches = at.dataframe[0].value, at.dataframe[1].value
    assert len(tops) == 4 and list(tops["document"])[0] == "c.txt"
    # unit 3 is a flip-flop: on from each 'a' until the next 'b'; its matches are there
    assert len(matches) and all(t in "axy" for t in matches["token"])
    assert any("match(es)" in m.value for m in at.markdown)


def test_a_statistics_file_of_another_model_is_refused(tmp_path):
    other = own_format(planted_model(H=6, seed=5).astype(np.float32), VOCAB)
    data = stats_bytes(tmp_path, other, "xaxb\n" * 4)
    at = upload(page(), "planted.pt", own_format(planted_model(H=6).astype(np.float32), VOCAB))
    view(at, "Corpus")
    at.radio(key="ex.corpus_source").set_value("Statistics file").run()
    at.file_uploader(key="ex.cstats_file").set_value(
        ("s.gruviz-corpus.npz", data, "application/octet-stream")).run()
    assert not at.exception
    assert "made for another model" in " ".join(e.value for e in at.error)
    at.file_uploader(key="ex.cstats_file").set_value(
        ("s.gruviz-corpus.npz", b"PK not a zip", "application/octet-stream")).run()
    assert "Not a corpus statistics file" in " ".join(e.value for e in at.error)


def test_a_bidirectional_model_of_vectors_and_its_statistics(tmp_path):
    """Numbers in, two directions: no symbols (no response, no context), every view works."""
    from tests.helpers import gru, saved

    model = saved(gru(3, 5, 2, True).state_dict())
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(4, 30, 3)))
    s = corpus_stats(load_checkpoint(model), tmp_path / "x.npy", threads=1, top_k=3,
                     progress=False)
    s.save(tmp_path / "s.gruviz-corpus.npz")
    at = upload(page(), "bi.pt", model)
    view(at, "Corpus")
    at.radio(key="ex.corpus_source").set_value("Statistics file").run()
    at.file_uploader(key="ex.cstats_file").set_value(
        ("s.gruviz-corpus.npz", (tmp_path / "s.gruviz-corpus.npz").read_bytes(),
         "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert any("120 tokens in 4 document" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1  # saturation; no symbols, no expected response
    assert len(at.dataframe[0].value) == 3
