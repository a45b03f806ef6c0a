"""NumPy .npz files (never unpickled): torch-style keys, any naming the shapes show, the
embedding and head owned by each GRU's prefix, vocabularies, overrides, hostile archives."""

import io
import zipfile

import numpy as np
import pytest
import torch

from gru_viz.api import run_checkpoint
from gru_viz.core.engine import run
from gru_viz.core.errors import CheckpointError
from gru_viz.io.checkpoint import load_checkpoint
from tests.torch_helpers import torch_gru


def npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def sd_of(module, prefix=""):
    return {prefix + k: v.detach().numpy() for k, v in module.state_dict().items()}


def max_err(ckpt, g, B=2, T=6):
    torch.manual_seed(3)
    x = torch.randn(B, T, g.input_size, dtype=torch.float64)
    out, h_n = g(x)
    tr = run(ckpt.model, x.numpy())
    return max(np.abs(tr.output - out.detach().numpy()).max(),
               np.abs(tr.h_n - h_n.detach().numpy()).max())


def test_torch_style_keys():
    g = torch_gru(3, 5, 2, bi=True)
    ckpt = load_checkpoint(npz(**sd_of(g, "rnn.")))
    assert ckpt.gru_name == "rnn" and ckpt.description["container"] == "npz"
    assert max_err(ckpt, g) < 1e-12


@pytest.mark.parametrize("names", [
    ("W_ih", "W_hh", "b_ih", "b_hh"),
    ("gru/input_kernel", "gru/recurrent_kernel", "gru/input_bias", "gru/recurrent_bias"),
    ("enc_weight_input", "enc_weight_hidden", "enc_bias_input", "enc_bias_hidden"),
])
def test_any_naming_the_shapes_show(names):
    g = torch.nn.GRUCell(3, 4).double()
    sd = sd_of(g)
    arrays = dict(zip(names, (sd["weight_ih"], sd["weight_hh"], sd["bias_ih"], sd["bias_hh"])))
    ckpt = load_checkpoint(npz(**arrays))
    assert ckpt.has_bias
    x = torch.randn(5, 3, dtype=torch.float64)
    h, hs = torch.zeros(1, 4, dtype=torch.float64), []
    for t in range(5):
        h = g(x[t:t + 1], h)
        hs.append(h[0].detach().numpy())
    assert np.abs(run(ckpt.model, x.numpy()).output - np.stack(hs)).max() < 1e-12


def test_encoder_decoder_each_gets_its_own_embedding_and_head():
    enc, dec = torch_gru(4, 6, seed=1), torch_gru(4, 6, seed=2)
    arrays = sd_of(enc, "encoder.rnn.") | sd_of(dec, "decoder.rnn.")
    arrays["encoder.embedding.weight"] = np.ones((10, 4))  # same width as the decoder's input
    arrays["decoder.out.weight"] = np.ones((10, 6))
    arrays["decoder.out.bias"] = np.zeros(10)
    ckpt = load_checkpoint(npz(**arrays))
    assert ckpt.gru_names == ("encoder.rnn", "decoder.rnn")
    assert ckpt.description["embedding_key"] == "encoder.embedding.weight"
    assert ckpt.head_weight is None  # the decoder's head reads the decoder
    dec_ck = ckpt.select("decoder.rnn")
    assert dec_ck.embedding is None  # never the encoder's
    assert dec_ck.description["head_key"] == "decoder.out.weight"
    assert max_err(dec_ck, dec) < 1e-12


@pytest.mark.parametrize("key,value", [
    ("vocab", np.array(list("abc"))),
    ("meta.itos", np.array(list("abc"))),
    ("chars", np.array("abc")),
])
def test_vocabulary_in_the_archive(key, value):
    g = torch_gru(3, 4)
    ckpt = load_checkpoint(npz(**sd_of(g, "gru."), **{key: value}))
    assert ckpt.vocabulary.symbols == ("a", "b", "c")
    res = run_checkpoint(ckpt, text="cab")
    assert res.tokens == ("c", "a", "b")


def test_vocabulary_from_lightning_hyper_parameters_and_stoi():
    g = torch_gru(3, 4)
    buf = io.BytesIO()
    torch.save({"state_dict": {f"model.gru.{k}": v for k, v in g.state_dict().items()},
                "pytorch-lightning_version": "2.4",
                "hyper_parameters": {"lr": 0.1, "data": {"vocab": "xyz"}}}, buf)
    assert load_checkpoint(buf.getvalue()).vocabulary.symbols == ("x", "y", "z")
    buf = io.BytesIO()
    torch.save({"state_dict": g.state_dict(), "stoi": {"q": 2, "p": 0, "r": 1}}, buf)
    assert load_checkpoint(buf.getvalue()).vocabulary.symbols == ("p", "r", "q")


def test_overrides_choose_or_drop_embedding_head_and_vocabulary():
    g = torch_gru(3, 4)
    arrays = sd_of(g, "gru.") | {"emb.weight": np.eye(5, 3), "fc.weight": np.ones((5, 4)),
                                 "fc.bias": np.zeros(5), "other.weight": np.ones((2, 4)),
                                 "vocab": np.array(list("abcde"))}
    ckpt = load_checkpoint(npz(**arrays))
    assert ckpt.embedding is not None and ckpt.description["head_key"] == "fc.weight"
    bare = ckpt.select(embedding=False, head=False, vocabulary=False)
    assert bare.embedding is None and bare.head_weight is None and bare.vocabulary is None
    typed = ckpt.select(vocabulary="vwxyz", head="other.weight")
    assert typed.vocabulary.symbols == tuple("vwxyz") and typed.head_weight.shape == (2, 4)
    assert typed.head_bias is None
    again = typed.select()  # detection from the file, not from the last override
    assert again.vocabulary.symbols == tuple("abcde")
    with pytest.raises(CheckpointError, match="3 symbols but the model reads 5"):
        ckpt.select(vocabulary="abc")
    with pytest.raises(CheckpointError, match="No tensor named 'nope'"):
        ckpt.select(head="nope")
    direct = load_checkpoint(npz(**arrays), embedding=False, vocabulary=list("xyz"))
    assert direct.embedding is None and direct.vocabulary.symbols == ("x", "y", "z")


def test_no_gru_and_lstm_messages():
    with pytest.raises(CheckpointError, match="holds no GRU"):
        load_checkpoint(npz(a=np.zeros((3, 3))))
    lstm = torch.nn.LSTM(3, 4)
    with pytest.raises(CheckpointError, match="LSTM"):
        load_checkpoint(npz(**sd_of(lstm)))


def _member(name: str, header_shape: str, payload: bytes, descr="<f8") -> bytes:
    head = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {header_shape}, }}"
    head = head.ljust(118) + "\n"
    npy = b"\x93NUMPY\x01\x00" + len(head).to_bytes(2, "little") + head.encode() + payload
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name + ".npy", npy)
    return buf.getvalue()


def test_hostile_archives():
    # a header declaring 10^12 floats in a 24-byte member: refused before any allocation
    with pytest.raises(CheckpointError, match="header lies"):
        load_checkpoint(_member("w", "(1000000, 1000000)", bytes(24)))
    # object arrays would need pickle: never
    with pytest.raises(CheckpointError, match="Python objects"):
        load_checkpoint(_member("w", "(1,)", b"\x80\x04N.", descr="|O"))
    # a zip bomb: 300 MB of zeros compressed into a small file, over the size cap
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("w.npy", bytes(300 * 2**20))
    with pytest.raises(CheckpointError, match="unpacks to 300 MB"):
        load_checkpoint(buf.getvalue())
