"""record(): the GRUs inside live torch modules, replayed by our core on the inputs they really
received, against the modules' own outputs (float32 1e-5; float64 1e-12)."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import gru_viz
from gru_viz.core.errors import InputError
from gru_viz.io.checkpoint import load_checkpoint


class ConvGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 8, 3, padding=1)
        self.rnn = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 5)

    def forward(self, x):  # x (B, T, 3)
        feats = torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        out, _ = self.rnn(feats)
        return self.head(out)


def test_conv_gru_linear_float32():
    torch.manual_seed(0)
    net = ConvGRU().eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rec = gru_viz.record(net, torch.randn(4, 12, 3))
    assert rec.paths == ("rnn",)
    g = rec["rnn"]
    assert g.kind == "GRU" and g.x.shape == (4, 12, 8) and g.trace.output.shape == (4, 12, 16)
    assert g.max_error <= 1e-5 and g.matches and not rec.warnings
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert not net.training  # unchanged


@pytest.mark.parametrize("batch_first", [False, True])
def test_two_layer_bidirectional(batch_first):
    torch.manual_seed(1)
    rnn = nn.GRU(3, 5, 2, bidirectional=True, batch_first=batch_first).double().eval()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    if not batch_first:
        x = x.transpose(0, 1)
    h0 = torch.randn(4, 2, 5, dtype=torch.float64)
    rec = gru_viz.record(rnn, x, h0)
    g = rec[""]
    assert g.max_error < 1e-12
    assert np.array_equal(g.h0, h0.numpy())
    out, _ = rnn(x, h0)
    out = out if batch_first else out.transpose(0, 1)
    assert np.abs(g.trace.output - out.detach().numpy()).max() < 1e-12


def test_packed_sequences_each_to_its_own_length():
    torch.manual_seed(2)
    rnn = nn.GRU(3, 4, bidirectional=True, batch_first=True).eval()
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([4, 6, 2])
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    rec = gru_viz.record(rnn, packed)
    g = rec[0]
    assert g.trace is None and g.lengths.tolist() == [4, 6, 2]
    assert g.max_error <= 1e-5
    for b, L in enumerate([4, 6, 2]):
        seq = g.sequence(b)
        assert seq.steps == L
        with torch.no_grad():
            ref, h_n = rnn(x[b:b + 1, :L])  # the sequence alone, unpadded
        assert np.abs(seq.output - ref[0].numpy()).max() <= 1e-5
        assert np.abs(seq.h_n - h_n[:, 0].numpy()).max() <= 1e-5
        assert not g.x[b, L:].any()


class CellLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.GRUCell(3, 4)
        self.dec = nn.GRUCell(2, 4)

    def forward(self, x, y):
        h = None
        for t in range(x.shape[1]):
            h = self.enc(x[:, t], h)
        for t in range(y.shape[1]):
            h = self.dec(y[:, t], h)
        return h


def test_grucell_loops_become_one_sequence_per_call_site():
    torch.manual_seed(3)
    net = CellLoop().double().eval()
    x, y = torch.randn(2, 5, 3, dtype=torch.float64), torch.randn(2, 3, 2, dtype=torch.float64)
    rec = gru_viz.record(net, x, y)
    assert len(rec) == 2
    enc, dec = rec.grus
    assert enc.path.startswith("enc @ test_live.py:") and dec.path.startswith("dec @ ")
    assert enc.x.shape == (2, 5, 3) and dec.x.shape == (2, 3, 2)
    assert enc.max_error < 1e-12 and dec.max_error < 1e-12
    assert np.array_equal(dec.h0[0], enc.output[:, -1])  # the decoder starts there
    assert np.abs(dec.trace.h_n[0] - net(x, y).detach().numpy()).max() < 1e-12


class Wrapper(nn.Module):  # the shape of a LightningModule: the network under .model
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
        self.encoder = nn.ModuleDict({"rnn": nn.GRU(3, 4, batch_first=True)})

    def forward(self, x):
        return self.encoder["rnn"](self.model(x))[0]


def test_nested_and_data_parallel():
    torch.manual_seed(4)
    net = nn.DataParallel(Wrapper().eval())
    rec = gru_viz.record(net, torch.randn(2, 5, 2))
    assert rec.paths == ("module.encoder.rnn",)
    assert rec[0].max_error <= 1e-5


def test_training_mode_warns_and_mismatch_is_named():
    rnn = nn.GRU(2, 3, 2, dropout=0.5)
    torch.manual_seed(8)
    with pytest.warns(UserWarning, match="training mode"):
        rec = gru_viz.record(rnn, torch.randn(6, 3, 2))
    assert any("training mode" in w for w in rec.warnings)
    # dropout between the layers ran in the module, not in our replay: named as a mismatch
    assert not rec[0].matches
    assert any(w.startswith("(the module): our h differs from the module's") for w in rec.warnings)


def test_run_refuses_a_module_and_takes_time_major():
    rnn = nn.GRU(2, 3).double().eval()
    with pytest.raises(InputError, match="gru_viz.record"):
        gru_viz.run(rnn, np.zeros((4, 2)))
    model = gru_viz.record(rnn, torch.zeros(1, 1, 2, dtype=torch.float64))[0].model
    x = torch.randn(6, 2, 2, dtype=torch.float64)  # (T, B, I)
    out, _ = rnn(x)
    tr = gru_viz.run(model, x.numpy(), time_major=True)
    assert tr.output.shape == (2, 6, 3)
    assert np.abs(tr.output - out.transpose(0, 1).detach().numpy()).max() < 1e-12


def test_capture_round_trip(tmp_path):
    torch.manual_seed(5)
    net = ConvGRU().eval()
    x = torch.randn(2, 6, 3)
    rec = gru_viz.record(net, x, tokens=list("abcdef"), description="demo run")
    path = rec.save(tmp_path / "run.gruviz.npz")
    ckpt = load_checkpoint(path)
    assert ckpt.gru_name == "rnn" and ckpt.description["container"] == "gru-viz capture"
    assert ckpt.description["description"]["summary"] == "demo run"
    cap = ckpt.capture
    assert np.array_equal(cap["x"], rec[0].x) and cap["tokens"].shape == (2, 6)
    tr = gru_viz.run(ckpt.model, cap["x"], cap["h0"], dtype=np.float64)
    assert np.array_equal(tr.output, rec[0].trace.output)
    assert ckpt.model.equals(rec[0].model)
    with open(path, "rb") as f:  # arrays only: no pickle anywhere
        np.load(f, allow_pickle=False)


def test_the_cli_traces_a_captured_sequence(tmp_path, capsys):
    import json

    from gru_viz.cli import main

    torch.manual_seed(6)
    net = ConvGRU().eval()
    rec = gru_viz.record(net, torch.randn(2, 5, 3))
    path = rec.save(tmp_path / "run.gruviz.npz")
    assert main(["trace", str(path), "--captured", "1", "--out", str(tmp_path / "t.json")]) in (
        0, None)
    out = json.loads((tmp_path / "t.json").read_text())
    assert np.abs(np.array(out["output"]) - rec[0].output[1]).max() <= 1e-5
    assert main(["trace", str(path), "--captured", "7", "--out", str(tmp_path / "t.json")]) == 2
    assert "holds sequences 0..1" in capsys.readouterr().err


def test_unbatched_inputs():
    torch.manual_seed(7)
    rnn = nn.GRU(2, 3).double().eval()
    rec = gru_viz.record(rnn, torch.randn(5, 2, dtype=torch.float64))  # (T, I), no batch
    assert rec[0].x.shape == (1, 5, 2) and rec[0].max_error < 1e-12
    cell = nn.GRUCell(2, 3).double().eval()
    rec = gru_viz.record(cell, torch.randn(2, dtype=torch.float64))  # (I,), one step
    assert rec[0].x.shape == (1, 1, 2) and rec[0].max_error < 1e-12


def test_malformed_captures_are_refused(tmp_path):
    import io

    from gru_viz.core.errors import CheckpointError
    from gru_viz.io.formats import CAPTURE_KEY

    def npz(**arrays):
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(npz(**{CAPTURE_KEY: np.array("{oops")}))
    with pytest.raises(CheckpointError, match="lists no GRUs"):
        load_checkpoint(npz(**{CAPTURE_KEY: np.array('{"format": "gru-viz capture"}')}))
    rec = gru_viz.record(nn.GRU(2, 3).eval(), torch.randn(1, 4, 2))
    with np.load(io.BytesIO(rec.to_bytes()), allow_pickle=False) as z:
        arrays = dict(z)
    arrays["gru0.x"] = np.zeros((1, 4, 7))  # does not fit the weights
    with pytest.raises(CheckpointError, match="do not fit its weights"):
        load_checkpoint(npz(**arrays))
