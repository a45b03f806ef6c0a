"""Every file is recognised before any reader runs; unsupported formats say what they are and
what to export instead; only files that are truncated or corrupt are called so."""

import io
import pickle
import zipfile

import h5py
import numpy as np
import pytest
import torch

from gru_viz.core.engine import run
from gru_viz.core.errors import CheckpointError
from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.formats import identify
from tests.torch_helpers import torch_gru


class StandardScaler:  # stands in for sklearn's: a pickled non-tensor object
    def __init__(self):
        self.mean_ = [0.0, 1.0]


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def h5(build) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        build(f)
    return buf.getvalue()


def torchscript() -> bytes:
    buf = io.BytesIO()
    torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 3), torch.zeros(1, 2)), buf)
    return buf.getvalue()


def message(data: bytes, name: str = "f") -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(data, name=name)
    return str(info.value)


UNSUPPORTED = {  # name -> (bytes, kind, parts of the message)
    "model.ts.pt": (torchscript, "torchscript", ["TorchScript", "state_dict()", "record"]),
    "model.tflite": (lambda: b"\x1c\x00\x00\x00TFL3" + bytes(64), "tflite",
                     ["TensorFlow Lite", "model.keras", "ONNX"]),
    "saved.zip": (lambda: zipped({"saved/saved_model.pb": b"\x08\x01",
                                  "saved/variables/variables.index": b""}),
                  "savedmodel", ["SavedModel", "model.keras"]),
    "saved_model.pb": (lambda: b"\x08\x01\x12\x04abcd", "savedmodel", ["SavedModel"]),
    "scaler.pkl": (lambda: pickle.dumps(StandardScaler()), "pickle",
                   ["plain Python pickle of", "StandardScaler", "not a model's weights",
                    "np.savez"]),
    "weights.h5": (lambda: h5(lambda f: f.create_group("layers")), "keras-weights",
                   ["without the model's configuration", "model.save('model.keras')"]),
    "data.h5": (lambda: h5(lambda f: f.create_dataset("x", data=np.zeros(3))), "hdf5",
                ["not a Keras model"]),
    "x.npy": (lambda: _npy(np.zeros((3, 2))), "npy", ["single NumPy array", "np.savez"]),
    "misc.zip": (lambda: zipped({"a.txt": b"hi"}), "zip", ["none of the formats", "a.txt"]),
}


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_formats_say_what_they_are(name):
    make, kind, parts = UNSUPPORTED[name]
    data = make()
    assert identify(data, name).kind == kind
    text = message(data, name)
    assert text.startswith(name)
    for part in parts:
        assert part in text, (part, text)
    assert "corrupt" not in text and "truncated" not in text


def test_a_pickle_of_numpy_arrays_is_pointed_to_npz():
    text = message(pickle.dumps({"w": np.zeros(3)}), "arrays.pkl")
    assert "pickle of NumPy arrays" in text and "np.savez" in text
    assert "not a model's weights" not in text


def test_a_savedmodel_folder(tmp_path):
    (tmp_path / "saved_model.pb").write_bytes(b"\x08\x01")
    assert "SavedModel" in message(tmp_path)
    assert "folder" in message(tmp_path.parent)


def test_legacy_torch_files_are_read_safely():
    g = torch_gru(3, 4)
    buf = io.BytesIO()
    torch.save(g.state_dict(), buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    assert identify(data).kind == "torch-legacy"
    ckpt = load_checkpoint(data)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    assert np.abs(run(ckpt.model, x.numpy()).output - g(x)[0].detach().numpy()).max() < 1e-12


@pytest.mark.parametrize("kind,data", [
    ("torch", lambda: _torch_bytes()),
    ("npz", lambda: _npz_bytes()),
])
def test_readable_formats_are_recognised(kind, data):
    assert identify(data()).kind == kind


def _torch_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save(torch_gru(2, 3).state_dict(), buf)
    return buf.getvalue()


def _npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, w=np.zeros(3))
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0.3, 0.7, 0.95])
def test_truncated_files_are_called_so(cut):
    for data in (_torch_bytes(), _npz_bytes()):
        text = message(data[: int(len(data) * cut)])
        assert "truncated or corrupt" in text, text
