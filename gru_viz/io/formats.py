"""Recognise a model file by its bytes, before any reader parses it.

``identify(data, name)`` looks only at signatures and container listings (zip member names,
the HDF5 magic, protobuf's first field, pickle opcodes read without unpickling) and says which
format the file is, whether gru-viz reads it, and for formats it does not read what to export
instead. A reader then runs only on a file of its own format, so "truncated or corrupt" is
said only about files that really are.
"""

from __future__ import annotations

import io
import pickletools
import struct
import zipfile
from dataclasses import dataclass

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
NPY_MAGIC = b"\x93NUMPY"
# torch.save(..., _use_new_zipfile_serialization=False) starts with this pickled magic number
LEGACY_TORCH = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
CAPTURE_KEY = "gruviz_capture"  # the marker array of our own capture files
# what each readable format is called in messages, and the extensions the uploader offers
READABLE = {
    "torch": "a PyTorch file (torch.save)",
    "torch-legacy": "a PyTorch file in the pre-1.6 format",
    "safetensors": "a safetensors file",
    "keras": "a Keras 3 model (.keras)",
    "keras-h5": "a Keras model in HDF5 (.h5)",
    "onnx": "an ONNX model",
    "npz": "a NumPy archive (.npz)",
    "capture": "a gru-viz capture (recording.save)",
}
EXTENSIONS = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".keras", ".h5", ".hdf5",
              ".onnx", ".npz")
UNSUPPORTED = {
    "torchscript": "a TorchScript archive (torch.jit.save), which holds code gru-viz does not "
                   "run. Save the weights instead: torch.save(model.state_dict(), 'model.pt'), "
                   "or record the live module with gru_viz.record(module, x).",
    "tflite": "a TensorFlow Lite flatbuffer, whose GRUs are fused or unrolled into other ops. "
              "Open the Keras model it came from (model.save('model.keras')), or export ONNX.",
    "savedmodel": "a TensorFlow SavedModel, a TensorFlow graph gru-viz does not read. Save the "
                  "Keras model as model.save('model.keras') (Keras 3) or export ONNX "
                  "(tf2onnx).",
    "keras-weights": "Keras weights without the model's configuration (model.save_weights), "
                     "so the layers cannot be told apart. Save the whole model: "
                     "model.save('model.keras').",
    "hdf5": "an HDF5 file that is not a Keras model (no model_config). Save the model with "
            "Keras (model.save('model.keras')), or the arrays as a .npz.",
    "npy": "a single NumPy array (.npy), not a model. Save the GRU's weights together, "
           "e.g. np.savez('gru.npz', **state_dict); an .npy input sequence goes in the "
           "Explorer's input box instead.",
    "pickle": "a plain Python pickle, which runs code when read",
    "zip": "a zip archive that is none of the formats gru-viz reads",
}


@dataclass(frozen=True)
class FileKind:
    """``kind``: a key of READABLE or UNSUPPORTED, or "corrupt"/"unknown"; ``detail`` adds
    what the signature showed (e.g. the pickled class)."""

    kind: str
    detail: str = ""

    @property
    def readable(self) -> bool:
        return self.kind in READABLE

    def message(self, label: str) -> str:
        """Why a file of this kind is not read, and what to do instead."""
        if self.kind == "pickle":
            what = f" of {self.detail}" if self.detail else ""
            return (f"{label} is a plain Python pickle{what}, which runs code when read: it "
                    "cannot be loaded safely; save `model.state_dict()` instead, e.g. "
                    "torch.save(model.state_dict(), 'model.pt')"
                    + (f" ({self.detail} is not a model's weights)"
                       if self.detail and self.detail != "NumPy arrays" else "")
                    + ". Arrays go in an .npz: np.savez('model.npz', **arrays).")
        if self.kind == "zip":
            return (f"{label} is a zip archive that is none of the formats gru-viz reads "
                    f"({self.detail}). Accepted: {', '.join(EXTENSIONS)}.")
        if self.kind in UNSUPPORTED:
            return f"{label} is {UNSUPPORTED[self.kind]}"
        if self.kind == "corrupt":
            return f"{label} is truncated or corrupt: {self.detail} Copy or save the file again."
        return (f"{label} is not a model file gru-viz recognises: its first bytes are "
                f"{self.detail}. Accepted: {', '.join(EXTENSIONS)} (torch, safetensors, Keras, "
                "ONNX, NumPy) and gru-viz captures.")


def _zip_kind(data: bytes) -> FileKind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # A torch file's zip directory sits at its end: a cut torch file lands here
        return FileKind("corrupt", "it starts like a zip archive but its directory cannot "
                                   "be read.")
    base = {n.rsplit("/", 1)[-1] for n in names}
    parts = {p for n in names for p in n.split("/")[1:-1]}  # folders below the archive root
    if "config.json" in base and "model.weights.h5" in base:
        return FileKind("keras")
    if "saved_model.pb" in base or "saved_model.pbtxt" in base:
        return FileKind("savedmodel")
    if "code" in parts or "constants.pkl" in base:
        return FileKind("torchscript")
    if "data.pkl" in base:
        return FileKind("torch")
    if names and all(n.endswith(".npy") for n in names):
        capture = f"{CAPTURE_KEY}.npy" in names
        return FileKind("capture" if capture else "npz")
    shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
    return FileKind("zip", f"members: {shown or 'none'}")


def _pickle_globals(data: bytes, limit: int = 64) -> list[str]:
    """The classes and functions a pickle names, read from its opcodes (nothing is run)."""
    found: list[str] = []
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name in ("GLOBAL", "INST"):
                found.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str):
                strings.append(arg)
            if len(found) >= limit or op.name == "STOP":
                break
    except Exception:  # a cut or malformed pickle: what was found so far
        pass
    return found


def _is_text_pickle(data: bytes) -> bool:
    """Whether ``data`` parses as a protocol-0 pickle to its STOP (opcodes only)."""
    try:
        ops = list(pickletools.genops(io.BytesIO(data[:2**20])))
    except Exception:
        return False
    return bool(ops) and ops[-1][0].name == "STOP"


def _hdf5_kind(data: bytes) -> FileKind:
    try:
        import h5py

        with h5py.File(io.BytesIO(data), "r") as f:
            if "model_config" in f.attrs:
                return FileKind("keras-h5")
            if "layers" in f or "layer_names" in f.attrs or "vars" in f:
                return FileKind("keras-weights")
    except ImportError:
        return FileKind("hdf5", "h5py is not installed")
    except Exception:
        return FileKind("corrupt", "it starts like an HDF5 file but h5py cannot open it.")
    return FileKind("hdf5")


def _looks_like_onnx(data: bytes) -> bool:
    """ModelProto starts with field 1 (ir_version, a small varint) and names its opsets."""
    return len(data) > 8 and data[0] == 0x08 and 1 <= data[1] <= 0x7F and b"\x42" in data[:4096]


def _binary_kind(data: bytes) -> FileKind | None:
    """The format a file's magic number (or safetensors' header length) names, if any."""
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _zip_kind(data)
    if data[:8] == HDF5_MAGIC:
        return _hdf5_kind(data)
    if data[:6] == NPY_MAGIC:
        return FileKind("npy")
    if data[4:8] == b"TFL3":
        return FileKind("tflite")
    if data.startswith(LEGACY_TORCH):
        return FileKind("torch-legacy")
    if len(data) >= 10:
        (n,) = struct.unpack("<Q", data[:8])
        if 2 <= n <= len(data) - 8 and data[8:9] == b"{":
            return FileKind("safetensors")
    return None


def _pickle_kind(data: bytes) -> FileKind | None:
    """A binary or text pickle, with what it would import, if ``data`` is one."""
    if data[:1] == b"\x80" and len(data) > 2 and data[1] <= 5:
        found = _pickle_globals(data)
        if any(g.startswith("torch.") for g in found) or not found:
            return FileKind("pickle")
        if any(g.startswith("numpy.") for g in found):
            return FileKind("pickle", "NumPy arrays")
        return FileKind("pickle", found[0])
    if data[:1] in b"(c}]IFSVNL" and data.rstrip()[-1:] == b"." and _is_text_pickle(data):
        found = _pickle_globals(data)
        return FileKind("pickle", found[0] if found else "")
    return None


def identify(data: bytes, name: str = "") -> FileKind:
    """The format of ``data`` (the file's bytes; ``name`` its file name, for .pb and .onnx)."""
    lower = name.lower()
    kind = _binary_kind(data)
    if kind is not None:
        return kind
    if lower.endswith(("saved_model.pb", "saved_model.pbtxt")):
        return FileKind("savedmodel")
    kind = _pickle_kind(data)
    if kind is not None:
        return kind
    if lower.endswith(".onnx") or _looks_like_onnx(data):
        return FileKind("onnx")
    return FileKind("unknown", repr(data[:8]))
