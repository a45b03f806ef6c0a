"""Helpers several test modules share: files and models made here (imported by conftest)."""

import io

import numpy as np
import torch

from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights
from gru_viz.io.inputs import Vocabulary
from gru_viz.io.savefile import save_checkpoint


def saved(obj) -> bytes:
    """``torch.save(obj)`` to bytes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


VOCAB = Vocabulary(tuple("abxy"))


def planted_model(H: int = 6, unit: int = 3, seed: int = 0) -> GRUModel:
    """Random small weights, except that ``unit`` is a flip-flop: it writes +1 on 'a', −1 on
    'b' and keeps its state otherwise (no recurrent input)."""
    w = GRUModel.random(len(VOCAB), H, seed=seed).cells[0][0].fused()
    W_ih, W_hh, b_ih, b_hh = (np.array(w[k]) for k in ("weight_ih", "weight_hh", "bias_ih",
                                                          "bias_hh"))
    a, b = VOCAB.encode("ab")
    z, n = H + unit, 2 * H + unit
    for row in (unit, z, n):
        W_hh[row], W_ih[row], b_ih[row], b_hh[row] = 0, 0, 0, 0
    b_ih[z], W_ih[z, a], W_ih[z, b] = 8, -16, -16  # keep, except on a and b
    W_ih[n, a], W_ih[n, b] = 8, -8
    return GRUModel(((GRUWeights.from_fused(W_ih, W_hh, b_ih, b_hh),),))


BRACKETS = Vocabulary(tuple("()[]"))


def own_format(model=None, vocab=BRACKETS) -> bytes:
    """Our self-describing file: one-hot symbols, a vocabulary and a linear head."""
    model = model or planted_model(H=6).astype(np.float32)
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocabulary=vocab,
                    head_weight=rng.normal(size=(len(vocab), model.hidden_size)).astype(np.float32),
                    head_bias=np.zeros(len(vocab), np.float32))
    return buf.getvalue()


def gru(I=3, H=5, L=1, bi=False) -> torch.nn.GRU:
    torch.manual_seed(0)
    return torch.nn.GRU(I, H, L, bidirectional=bi, batch_first=True)


# Hostile strings for the untrusted-text tests (AppTest and browser).
IMG = "![i](http://evil.example/x.png)"
LINK = "[click](https://evil.example/)"
STYLE = '<span style="background:url(http://evil.example/s.png)">s</span>'
TERM = "\x1b[2J\x1b]0;owned\x07\x9b31m"
BIDI = "\u202etxt.exe"
HOSTILE = [IMG, LINK, STYLE, ":red[alert]", BIDI]
HOSTILE_VOCAB = Vocabulary(("a", IMG, STYLE, "\u202e"))


def hostile_checkpoint() -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    save_checkpoint(buf, GRUModel.random(4, 3, seed=0), vocabulary=HOSTILE_VOCAB,
                    head_weight=rng.normal(size=(4, 3)), head_bias=np.zeros(4),
                    description={"summary": f"{IMG} {LINK} {BIDI}", IMG: STYLE, "t": TERM},
                    metrics={IMG: 0.5, LINK: 1, TERM: 2.0})
    return buf.getvalue()
