"""Every bad file gives one CheckpointError that says what was found; no file runs code."""

import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save as st_save

from gru_viz.core.errors import CheckpointError, GRUVizError
from gru_viz.io.checkpoint import load_checkpoint
from tests.helpers import saved
from tests.torch_helpers import torch_gru


def fails(data, match: str, **kw) -> CheckpointError:
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(data, **kw)
    assert isinstance(info.value, GRUVizError)
    return info.value


class MakesMarker:
    """Unpickling this would create a file: proof that code ran."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def marker(tmp_path):
    MakesMarker.path = str(tmp_path / "code_ran")
    yield tmp_path / "code_ran"


@pytest.mark.parametrize("pack", [
    lambda obj: saved({"state_dict": {"w": torch.zeros(1)}, "extra": obj}),  # torch zip
    lambda obj: pickle.dumps(obj),  # plain pickle
    lambda obj: pickle.dumps(obj, protocol=2),
])
def test_pickle_that_would_run_code_is_refused_without_running(marker, pack):
    data = pack(MakesMarker())
    # control: the payload really does run code when unpickled unsafely (zip: torch's way)
    err = fails(data, "cannot be loaded safely; save `model.state_dict\\(\\)` instead")
    assert not marker.exists()
    assert "code" in str(err)
    if data[:2] != b"PK":
        pickle.loads(data)
        assert marker.exists()


def test_whole_pickled_module_is_refused():
    err = fails(saved(torch.nn.GRU(2, 3)), "cannot be loaded safely")
    assert "whole pickled module" in str(err) and "torch.nn.modules.rnn.GRU" in str(err)


@pytest.mark.parametrize("module,match", [
    (torch.nn.LSTM(3, 4, 2), "4H = 16 rows: this looks like an LSTM"),
    (torch.nn.LSTMCell(3, 4), "this looks like an LSTM"),
    (torch.nn.LSTM(3, 4, proj_size=2), "LSTM with projections"),
    (torch.nn.RNN(3, 4), "plain RNN"),
])
def test_other_rnns_are_named(module, match):
    fails(saved({"rnn": module.state_dict()}), match)


def test_inconsistent_shapes_name_the_key():
    sd = torch_gru(3, 4, 2).state_dict()
    sd["weight_ih_l1"] = torch.zeros(12, 5)
    fails(saved(sd), r"'weight_ih_l1' has shape \(12, 5\), expected \(12, 4\)")
    sd = torch_gru(3, 4).state_dict()
    sd["bias_hh_l0"] = torch.zeros(11)
    fails(saved(sd), r"'bias_hh_l0' has shape \(11,\)")
    sd = torch_gru(3, 4).state_dict()
    sd["weight_hh_l0"] = torch.zeros(13, 4)
    fails(saved(sd), r"'weight_hh_l0' has shape \(13, 4\)")


def test_missing_parts_are_named():
    sd = torch_gru(3, 4, 3, bi=True).state_dict()
    fails(saved({k: v for k, v in sd.items() if "_l1" not in k}), r"layer\(s\) \[1\]")
    fails(saved({k: v for k, v in sd.items() if k != "bias_ih_l2_reverse"}),
          "'bias_ih_l2_reverse' is missing")


def test_no_gru_lists_some_keys():
    err = fails(saved(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                          torch.nn.Linear(4, 2)).state_dict()),
                "No GRU weights found among 4 tensor")
    assert "'0.weight'" in str(err) and "weight_ih_l0" in str(err)


def test_no_tensors_and_wrong_top_level():
    fails(saved({"epoch": 3, "config": {"lr": 0.1}}), "holds no tensors.*'epoch'")
    fails(saved(torch.zeros(3)), "holds a Tensor, not a state dict")


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.9])
def test_truncated_torch_file(cut):
    data = saved(torch_gru(3, 4).state_dict())
    fails(data[: int(len(data) * cut)], "truncated or corrupt")


def test_corrupt_zip_and_unknown_format():
    data = bytearray(saved(torch_gru(3, 4).state_dict()))
    data[60:400] = bytes(340)
    fails(bytes(data), "truncated or corrupt")
    fails(b"hello world, not a model", "not a model file gru-viz recognises.*Accepted: .pt")
    fails(b"", "empty")


def test_truncated_safetensors():
    data = st_save({k: v.contiguous() for k, v in torch_gru(3, 4).state_dict().items()})
    fails(data[:-10], "truncated or corrupt safetensors")
    (n,) = struct.unpack("<Q", data[:8])
    fails(data[:8] + b"{" + b"x" * (n - 1) + data[8 + n:], "corrupt safetensors")


def test_nan_and_inf_load_with_a_warning_naming_the_tensors():
    sd = torch_gru(3, 4, 2).state_dict()
    sd["weight_hh_l1"][0, 0] = float("nan")
    sd["bias_ih_l0"][2] = float("inf")
    ckpt = load_checkpoint(saved(sd))
    assert set(ckpt.non_finite) == {"weight_hh_l1", "bias_ih_l0"}
    assert any("weight_hh_l1" in w and "bias_ih_l0" in w for w in ckpt.warnings)
    assert not np.isfinite(ckpt.model.cells[1][0].W_hr).all()


def test_size_cap_by_argument_and_environment(tmp_path, monkeypatch):
    data = saved({"weight": torch.zeros(300_000)})  # about 1.2 MB
    fails(data, r"up.pt is 1\.1 MB, over the limit of 1 MB", max_mb=1, name="up.pt")
    path = tmp_path / "big.pt"
    path.write_bytes(data)
    monkeypatch.setenv("GRUVIZ_MAX_UPLOAD_MB", "1")
    fails(path, "big.pt is 1.1 MB, over the limit of 1 MB.*GRUVIZ_MAX_UPLOAD_MB")
    fails(data, "over the limit")


def test_missing_path_and_unknown_gru_name(tmp_path):
    fails(tmp_path / "nope.pt", "Cannot read")
    fails(saved(torch_gru(3, 4).state_dict()), "No GRU named 'enc'", gru="enc")


def test_old_torch_is_refused_for_torch_files(monkeypatch):
    data = saved(torch_gru(3, 4).state_dict())
    monkeypatch.setattr(torch, "__version__", "2.5.1+cpu")
    fails(data, r"torch 2\.5\.1\+cpu has known ways around weights_only.*torch>=2\.10")
