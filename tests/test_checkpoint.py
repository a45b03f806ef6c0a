"""Checkpoints the tests create with torch load into models whose traces equal torch's output."""

import io
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from gru_viz.core.engine import run
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.inputs import Vocabulary
from gru_viz.io.savefile import gru_state_dict, save_checkpoint, save_state_dict
from tests.helpers import saved
from tests.torch_helpers import torch_gru


def assert_same_as_torch(ckpt, g: torch.nn.GRU, B=2, T=7):
    torch.manual_seed(5)
    x = torch.randn(B, T, g.input_size, dtype=torch.float64) * 2
    out, h_n = g(x)
    tr = run(ckpt.model, x.numpy())
    assert np.abs(tr.output - out.detach().numpy()).max() <= 1e-10
    assert np.abs(tr.h_n - h_n.detach().numpy()).max() <= 1e-10


class Net(torch.nn.Module):
    """A usual model: embedding -> GRU -> linear head."""

    def __init__(self, V=6, I=4, H=5, L=2, bi=True):
        super().__init__()
        torch.manual_seed(0)
        self.embedding = torch.nn.Embedding(V, I)
        self.rnn = torch.nn.GRU(I, H, L, bidirectional=bi, batch_first=True)
        self.fc = torch.nn.Linear(H * (2 if bi else 1), V)
        self.double()


@pytest.mark.parametrize("L,bi,bias", [(1, False, True), (3, False, True), (2, True, True),
                                       (2, True, False), (1, True, False)])
def test_raw_nn_gru_state_dict(L, bi, bias):
    g = torch_gru(3, 5, L, bi, bias, seed=L)
    ckpt = load_checkpoint(saved(g.state_dict()))
    m = ckpt.model
    assert (m.input_size, m.hidden_size, m.num_layers, m.bidirectional) == (3, 5, L, bi)
    assert ckpt.has_bias == bias and ckpt.gru_names == ("",)
    assert ckpt.embedding is None and ckpt.head_weight is None
    assert_same_as_torch(ckpt, g)


def test_gru_cell_keys_become_one_layer():
    torch.manual_seed(1)
    cell = torch.nn.GRUCell(3, 4).double()
    ckpt = load_checkpoint(saved({"cell": cell.state_dict()}))
    assert ckpt.gru_names == ("cell",) and ckpt.description["gru_cell"]
    x = torch.randn(6, 3, dtype=torch.float64)
    h, hs = torch.zeros(4, dtype=torch.float64), []
    for t in range(6):
        h = cell(x[t], h)
        hs.append(h)
    tr = run(ckpt.model, x.numpy())
    assert np.abs(tr.output - torch.stack(hs).detach().numpy()).max() <= 1e-10


@pytest.mark.parametrize("wrap", [
    lambda sd: sd,
    lambda sd: {"state_dict": sd, "epoch": 3},
    lambda sd: {"model_state_dict": sd, "optimizer_state_dict": {"state": {}, "param_groups": []}},
    lambda sd: {"model": sd},
    lambda sd: {"net": sd},
    lambda sd: {"state_dict": {f"model.{k}": v for k, v in sd.items()},  # Lightning
                "pytorch-lightning_version": "2.4.0", "global_step": 10},
    lambda sd: {f"module.{k}": v for k, v in sd.items()},  # DataParallel
    lambda sd: {f"_orig_mod.module.{k}": v for k, v in sd.items()},  # compiled
])
def test_containers_and_prefixes_unwrap_to_the_same_model(wrap):
    net = Net()
    ckpt = load_checkpoint(saved(wrap(net.state_dict())))
    assert ckpt.gru_name == "rnn"
    np.testing.assert_array_equal(ckpt.embedding, net.embedding.weight.detach().numpy())
    np.testing.assert_array_equal(ckpt.head_weight, net.fc.weight.detach().numpy())
    np.testing.assert_array_equal(ckpt.head_bias, net.fc.bias.detach().numpy())
    assert_same_as_torch(ckpt, net.rnn)


def test_lightning_container_is_named():
    net = Net(bi=False, L=1)
    sd = {f"model.{k}": v for k, v in net.state_dict().items()}
    ckpt = load_checkpoint(saved({"state_dict": sd, "pytorch-lightning_version": "2.4.0"}))
    assert ckpt.description["container"] == "Lightning checkpoint"
    assert ckpt.description["stripped_prefixes"] == ["model."]


def test_safetensors_and_path_loading(tmp_path):
    net = Net()
    path = tmp_path / "net.safetensors"
    path.write_bytes(st_save({k: v.contiguous() for k, v in net.state_dict().items()},
                             metadata={"task": "test"}))
    ckpt = load_checkpoint(path)
    assert ckpt.description["safetensors_metadata"] == {"task": "test"}
    assert ckpt.description["file"] == "net.safetensors"
    assert_same_as_torch(ckpt, net.rnn)


def test_several_grus_are_listed_and_selectable():
    enc, dec = torch_gru(3, 4, seed=1), torch_gru(4, 6, 2, seed=2)
    sd = {f"encoder.gru.{k}": v for k, v in enc.state_dict().items()}
    sd |= {f"decoder.gru.{k}": v for k, v in dec.state_dict().items()}
    ckpt = load_checkpoint(saved(sd))
    assert ckpt.gru_names == ("encoder.gru", "decoder.gru")
    assert any("Several GRUs" in w for w in ckpt.warnings)
    other = ckpt.select("decoder.gru")
    assert other.gru_name == "decoder.gru" and not other.warnings
    assert_same_as_torch(other, dec)
    assert load_checkpoint(saved(sd), gru="decoder.gru").model.equals(other.model)


def test_float16_and_bfloat16_become_float32():
    g = torch_gru(2, 3, dtype=torch.float32)
    for dt in (torch.float16, torch.bfloat16):
        ckpt = load_checkpoint(saved(g.to(dt).state_dict()))
        assert ckpt.model.dtype == np.float32


def test_result_is_read_only():
    ckpt = load_checkpoint(saved(Net().state_dict()))
    for a in (ckpt.embedding, ckpt.head_weight, ckpt.model.cells[0][0].W_hz,
              *ckpt.tensors.values()):
        assert not a.flags.writeable
    with pytest.raises(TypeError):
        ckpt.tensors["x"] = np.zeros(1)
    d = ckpt.description
    d["file"] = "changed"
    assert ckpt.description["file"] != "changed"
    with pytest.raises(AttributeError):
        ckpt.model = None


def test_own_format_round_trip_with_weights_only():
    net = Net(V=5, bi=False, L=2)
    ckpt0 = load_checkpoint(saved(net.state_dict()))
    vocab = Vocabulary(tuple("abcde"))
    buf = io.BytesIO()
    save_checkpoint(buf, ckpt0.model, embedding=ckpt0.embedding, head_weight=ckpt0.head_weight,
                    head_bias=ckpt0.head_bias, vocabulary=vocab,
                    description={"task": "test"}, training={"seed": 1},
                    metrics={"accuracy": 0.5})
    raw = torch.load(io.BytesIO(buf.getvalue()), map_location="cpu", weights_only=True)
    assert raw["format"] == "gru-viz" and raw["format_version"] == 1
    assert raw["model_args"]["hidden_size"] == 5 and raw["model_args"]["vocab_size"] == 5
    ckpt = load_checkpoint(buf.getvalue())
    assert ckpt.vocabulary == vocab
    desc = ckpt.description
    assert desc["description"] == {"task": "test"} and desc["metrics"] == {"accuracy": 0.5}
    assert ckpt.model.equals(ckpt0.model)
    np.testing.assert_array_equal(ckpt.head_bias, ckpt0.head_bias)
    json.dumps(desc)


@pytest.mark.parametrize("L,bi,bias", [(2, True, True), (1, False, False)])
def test_edited_weights_load_into_torch_gru(L, bi, bias):
    g = torch_gru(3, 4, L, bi, bias, seed=3)
    ckpt = load_checkpoint(saved(g.state_dict()))
    w = ckpt.model.cells[0][0]
    edited = ckpt.model.replace_cell(0, 0, w.replace(W_hz=w.W_hz * 0 + 0.25))
    buf = io.BytesIO()
    save_state_dict(edited, buf, bias=bias)
    g2 = torch.nn.GRU(3, 4, L, bias=bias, bidirectional=bi, batch_first=True).double()
    g2.load_state_dict(torch.load(io.BytesIO(buf.getvalue()), weights_only=True))  # strict
    assert torch.all(g2.weight_hh_l0[4:8] == 0.25)
    assert_same_as_torch(load_checkpoint(buf.getvalue()), g2)


def test_bias_free_save_refuses_nonzero_biases():
    from gru_viz.core.errors import CheckpointError

    ckpt = load_checkpoint(saved(torch_gru(2, 3).state_dict()))
    with pytest.raises(CheckpointError, match="bias=True"):
        gru_state_dict(ckpt.model, bias=False)


def test_api_head_probabilities_equal_torch_forward():
    from gru_viz.api import trace_checkpoint

    net = Net(V=6, L=2, bi=True)
    ids = torch.tensor([[0, 3, 5, 1, 1, 2]])
    with torch.no_grad():
        out, _ = net.rnn(net.embedding(ids))
        probs = torch.softmax(net.fc(out), -1)[0].numpy()
    res = trace_checkpoint(saved({"model": net.state_dict()}), ids=ids[0].tolist())
    assert res.tokens == tuple("035112")
    assert np.abs(res.probs - probs).max() <= 1e-10
    assert np.abs(res.trace.output - out[0].numpy()).max() <= 1e-10
    assert not res.probs.flags.writeable


def test_a_hidden_layer_is_not_taken_for_the_output_head():
    net = Net(V=6, L=1, bi=False)
    net.fc = torch.nn.Linear(5, 9).double()  # 9 ≠ 6 symbols: feeds a further layer
    ckpt = load_checkpoint(saved(net.state_dict()))
    assert any("'fc.weight' gives 9 outputs, not one per symbol (6)" in w for w in ckpt.warnings)
    from gru_viz.api import run_checkpoint

    res = run_checkpoint(ckpt, ids=[0, 1])
    assert res.probs is None and res.head_output.shape == (2, 9)
