"""The Explorer's small corpus reads text as the corpus job does: one sequence with the
state carried across lines (the newline a token when the vocabulary has it), lines as
sequences only when asked."""

import numpy as np

from gru_viz.analysis import units as an
from gru_viz.core.limits import server_limits
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.corpus import open_corpus
from gru_viz.io.inputs import Vocabulary
from gru_viz.ui.explorer_model import Loaded
from gru_viz.ui.explorer_more import read_corpus
from tests.helpers import VOCAB, own_format, planted_model

TEXT = "xa\nxx\nxx\nxb\nxx"  # unit 3 flips to +1 on 'a' and holds it until the 'b'


def planted(vocab=VOCAB):
    model = planted_model(H=6)
    if len(vocab) != len(VOCAB):  # one more symbol (the newline): one more input, unread
        model = model.map(lambda w: w.replace(**{n: np.pad(getattr(w, n), ((0, 0), (0, 1)))
                                                 for n in ("W_ir", "W_iz", "W_in")}))
    return Loaded(load_checkpoint(own_format(model.astype(np.float32), vocab)), "p.pt", "k")


def test_the_state_carries_across_lines():
    """Unit 3 holds +1 from the 'a' on the first line to the 'b' on the fourth: six steps
    at or above 0.5 (restarting each line from h0 = 0 gives one), three at or below −0.5."""
    loaded = planted()
    xs, ids, symbols, notice = read_corpus(loaded, TEXT.encode(), "c.txt")
    assert [len(x) for x in xs] == [10] and "".join(symbols[0]) == TEXT.replace("\n", "")
    assert notice.startswith("4 character(s)")  # the newline is not in this vocabulary
    h3 = an.corpus_stats(loaded.ckpt.model, xs, ids, len(VOCAB))[(0, 0)].histograms["h"][3]
    assert h3[15:].sum() == 6 and h3[:5].sum() == 3


def test_the_newline_is_a_token_when_the_vocabulary_has_it(tmp_path):
    """With a newline in the vocabulary the sequence holds it, exactly as the corpus job
    encodes the same text from a file."""
    vocab = Vocabulary((*VOCAB.symbols, "\n"))
    xs, ids, symbols, _ = read_corpus(planted(vocab), TEXT.encode(), "c.txt")
    (tmp_path / "c.txt").write_text(TEXT)
    job = open_corpus([tmp_path / "c.txt"], "ids", tmp_path / "work", vocab, len(vocab))
    assert job.documents == 1 and len(ids) == 1
    np.testing.assert_array_equal(ids[0], job.read(0, job.tokens))
    assert "".join(symbols[0]) == TEXT


def test_lines_are_sequences_only_when_asked():
    xs, ids, symbols, _ = read_corpus(planted(), TEXT.encode(), "c.txt", "line")
    assert ["".join(s) for s in symbols] == TEXT.split("\n")
    h3 = an.corpus_stats(planted().ckpt.model, xs, ids, len(VOCAB))[(0, 0)].histograms["h"][3]
    assert h3[15:].sum() == 1 and h3[:5].sum() == 1  # every line from h0 = 0


def test_a_text_longer_than_the_step_limit_keeps_its_state(monkeypatch):
    """The Explorer passes the server's limits: the whole text, over GRUVIZ_MAX_STEPS, runs
    in segments carrying the state (it was refused as too long), with one run's counts."""
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "4")
    loaded = planted()
    xs, ids, _, _ = read_corpus(loaded, TEXT.encode(), "c.txt")
    assert len(xs[0]) > 4
    stats = an.corpus_stats(loaded.ckpt.model, xs, ids, len(VOCAB), limits=server_limits())
    h3 = stats[(0, 0)].histograms["h"][3]
    assert h3[15:].sum() == 6 and h3[:5].sum() == 3
