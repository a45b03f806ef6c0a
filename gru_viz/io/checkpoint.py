"""Load a checkpoint file safely and find the GRU in it.

Files are untrusted: torch files are read only with ``weights_only=True`` (never any unsafe
fallback), safetensors through the safetensors package; the size is capped and the signature
checked first. Every failure becomes one CheckpointError that says what was found and what to
do. The result is frozen and its arrays read-only, so an app may cache and share it.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gru_viz.core.errors import CheckpointError, GRUVizError
from gru_viz.core.limits import check_model, limits
from gru_viz.core.model import GRUModel
from gru_viz.core.summary import Summary, reset_text
from gru_viz.io.detect import FoundGRU, find_embedding, find_grus, find_head
from gru_viz.io.inputs import Vocabulary

MIN_TORCH = (2, 10)  # older versions have known weights_only bypasses
EXTENSIONS = (".pt", ".pth", ".ckpt", ".bin", ".safetensors")
FORMAT_NAME = "gru-viz"  # the "format" entry of our own self-describing files
FORMAT_VERSION = 1
WRAPPERS = ("state_dict", "model_state_dict", "model", "net")  # tried in this order
PREFIXES = ("module.", "model.", "_orig_mod.")  # DataParallel, Lightning, torch.compile
VOCAB_KEYS = ("vocabulary", "vocab", "itos")
MAX_VOCABULARY = 1_000_000  # symbols; longer lists are not a vocabulary we could show
MAX_DESCRIPTION = 1_000_000  # characters of JSON: a real description is a few kB
SAFE_SAVE = ("cannot be loaded safely; save `model.state_dict()` instead, e.g. "
             "torch.save(model.state_dict(), 'model.pt').")


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """What a checkpoint holds, for one chosen GRU (``gru_name`` among ``gru_names``).

    embedding   (V, I) table feeding the GRU, or None
    head_weight (V', D·H) and head_bias (V',) of a linear head reading its output, or None
    tensors     every tensor of the (unwrapped, prefix-stripped) state dict, read-only
    """

    model: GRUModel
    gru_name: str
    gru_names: tuple[str, ...]
    has_bias: bool
    embedding: np.ndarray | None
    head_weight: np.ndarray | None
    head_bias: np.ndarray | None
    vocabulary: Vocabulary | None
    warnings: tuple[str, ...]
    non_finite: tuple[str, ...]
    tensors: Mapping[str, np.ndarray]
    description_json: str  # JSON text: each read of ``description`` is a fresh copy

    @property
    def description(self) -> dict[str, Any]:
        return json.loads(self.description_json)

    def select(self, gru_name: str) -> Checkpoint:
        """The same file with another of its GRUs chosen."""
        meta = self.description
        return _assemble(self.tensors, meta, gru_name, meta.get("reset_after", True),
                         self.vocabulary, tuple(w for w in self.warnings
                                                if not w.startswith(_SEVERAL)))

    def summary(self) -> list[str]:
        """Human-readable lines: what was detected."""
        m = self.model
        cell = " (nn.GRUCell keys)" if self.description["gru_cell"] else ""
        lines = [f"GRU {self.gru_name or '(top level)'}{cell}: {m.describe()}"
                 + ("" if self.has_bias else ", no bias")]
        if len(self.gru_names) > 1:
            lines.append("Other GRUs: " + ", ".join(n or "(top level)" for n in self.gru_names
                                                    if n != self.gru_name))
        if self.embedding is not None:
            lines.append(f"Embedding: {self.embedding.shape[0]} symbols × {m.input_size}")
        if self.head_weight is not None:
            lines.append(f"Linear head {self.description['head_key']!r}: "
                         f"{m.num_directions * m.hidden_size} → "
                         f"{self.head_weight.shape[0]}"
                         + ("" if self.head_bias is not None else " (no bias)"))
        if self.vocabulary is not None:
            lines.append(f"Vocabulary: {len(self.vocabulary)} symbols")
        return lines + [f"Warning: {w}" for w in self.warnings]

    def _summary(self) -> Summary:
        m, desc = self.model, self.description
        rows = [("file", f"{desc.get('file', '')} ({desc.get('container', '')})"),
                ("GRU", self.gru_name or "(top level)"), ("layers", m.num_layers),
                ("directions", m.num_directions), ("hidden size", m.hidden_size),
                ("input size", m.input_size), ("reset", reset_text(m.reset_after))]
        if len(self.gru_names) > 1:
            rows.append(("other GRUs", ", ".join(n or "(top level)" for n in self.gru_names
                                                 if n != self.gru_name)))
        rows.append(("embedding", "none" if self.embedding is None else
                     f"{self.embedding.shape[0]} symbols × {m.input_size}"))
        rows.append(("head", "none" if self.head_weight is None else
                     f"{self.head_weight.shape[1]} → {self.head_weight.shape[0]}"))
        rows.append(("vocabulary", "none" if self.vocabulary is None else
                     f"{len(self.vocabulary)} symbols"))
        return Summary("Checkpoint", rows, self.warnings)

    def __repr__(self) -> str:
        return self._summary().text()

    def _repr_html_(self) -> str:
        return self._summary().html()


_SEVERAL = "Several GRUs"


# --- reading bytes ---------------------------------------------------------------------------

def _read(source: str | os.PathLike | bytes, max_mb: float, name: str | None
          ) -> tuple[bytes, str]:
    cap = int(max_mb * 2**20)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "the uploaded file"
    else:
        path = Path(source)
        name = name or path.name
        try:
            size = path.stat().st_size
            if size > cap:
                raise CheckpointError(_too_big(name, size, max_mb))
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from None
    if len(data) > cap:
        raise CheckpointError(_too_big(name, len(data), max_mb))
    if not data:
        raise CheckpointError(f"{name} is empty (0 bytes). Save the checkpoint again.")
    return data, name


def _too_big(name: str, size: int, max_mb: float) -> str:
    return (f"{name} is {size / 2**20:.1f} MB, over the limit of {max_mb:g} MB. Save only the "
            "GRU's state dict, or raise the limit (GRUVIZ_MAX_UPLOAD_MB).")


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 2 <= n <= len(data) - 8 and data[8:9] == b"{"


def _check_unpacked_size(data: bytes, name: str, max_mb: float) -> None:
    """Refuse a zip whose members unpack to more than the size cap (a zip bomb): torch
    inflates compressed members in full, though torch.save never compresses them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(info.file_size for info in z.infolist())
    except Exception:  # not a readable zip: torch.load reports the corruption
        return
    if unpacked > max_mb * 2**20:
        raise CheckpointError(f"{name} unpacks to {unpacked / 2**20:.0f} MB, over the limit of "
                              f"{max_mb:g} MB (GRUVIZ_MAX_UPLOAD_MB). Save only the GRU's state "
                              "dict with torch.save.")


def _load_torch(data: bytes, name: str) -> Any:
    import pickle

    import torch
    from torch.torch_version import TorchVersion

    if TorchVersion(torch.__version__) < MIN_TORCH:
        raise CheckpointError(f"torch {torch.__version__} has known ways around weights_only "
                              "loading, so untrusted files are not opened with it. Install "
                              f"torch>={'.'.join(map(str, MIN_TORCH))}.")
    try:  # weights_only=True always: plain containers and tensors only, no code runs
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)", str(exc))
        if found:
            what = found.group(1)
            module = " a whole pickled module" if what.startswith("torch.nn.modules") else ""
            raise CheckpointError(f"{name} holds{module} ({what}), which needs Python code to "
                                  f"load: it {SAFE_SAVE}") from None
        detail = " ".join(str(exc).split("error:")[-1].split()[:6])
        raise CheckpointError(f"{name} is truncated or corrupt: its pickled data cannot be read "
                              f"({detail}). Copy or save the file again.") from None
    except Exception as exc:  # zip errors, truncation, bad storages
        first = str(exc).partition("\n")[0][:160]  # may be empty: EOFError() has no message
        raise CheckpointError(f"{name} is truncated or corrupt: torch could not read it "
                              f"({type(exc).__name__}: {first}). "
                              "Copy or save the file again.") from None


def _load_safetensors(data: bytes, name: str) -> tuple[dict, dict]:
    from safetensors.torch import load

    (n,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8:8 + n])
        tensors = load(data)
    except Exception as exc:
        raise CheckpointError(f"{name} is a truncated or corrupt safetensors file "
                              f"({type(exc).__name__}: {str(exc)[:160]}). Save it again.") from None
    return tensors, dict(header.get("__metadata__") or {})


def _to_numpy(t: Any) -> np.ndarray:
    import torch

    t = t.detach().to("cpu")
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()  # NumPy has no bfloat16; float32 holds both exactly
    a = t.numpy()  # shares the freshly loaded tensor's memory: no copy of a large file
    a.setflags(write=False)
    return a


# --- unwrapping containers -------------------------------------------------------------------

def _is_tensor(v: Any) -> bool:
    return type(v).__name__ in ("Tensor", "Parameter")


def _unwrap(obj: Any, name: str) -> tuple[dict, list[str]]:
    """The dict of tensors inside the usual wrappers, and the wrapper keys passed."""
    path: list[str] = []
    while (isinstance(obj, Mapping) and len(path) < len(WRAPPERS)  # a cycle ends here
           and not any(_is_tensor(v) for v in obj.values())):
        key = next((k for k in WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if key is None:
            break
        path.append(key)
        obj = obj[key]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{name} holds a {type(obj).__name__}, not a state dict. Save "
                              "model.state_dict() with torch.save.")
    flat: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(d: Mapping, prefix: str, depth: int) -> None:  # nested dicts become dotted keys
        # each dict once (shared or cyclic ones would multiply the work), at most 32 deep
        if id(d) in seen or depth > 32:
            return
        seen.add(id(d))
        for k, v in d.items():
            if _is_tensor(v):
                flat[prefix + str(k)] = v
            elif isinstance(v, Mapping):
                walk(v, f"{prefix}{k}.", depth + 1)

    walk(obj, "", 0)
    if not flat:
        keys = ", ".join(repr(k) for k in list(obj)[:8])
        raise CheckpointError(f"{name} holds no tensors (top-level keys: {keys or 'none'}). "
                              "Save model.state_dict() with torch.save.")
    return flat, path


def strip_prefixes(keys: list[str]) -> dict[str, str]:
    """old key -> key without leading ``module.``/``model.``/``_orig_mod.`` (unless clashing)."""
    def strip(k: str) -> str:
        while k.startswith(PREFIXES):
            k = k.split(".", 1)[1]
        return k

    new = {k: strip(k) for k in keys}
    return new if len(set(new.values())) == len(new) else {k: k for k in keys}


# --- assembling the result -------------------------------------------------------------------

def _check_description(own: Mapping, label: str) -> None:
    """Refuse a description that is cyclic, absurdly deep, or expands (shared sub-objects
    repeated at every level) into more JSON than any real description holds."""
    size = 0
    try:
        for chunk in json.JSONEncoder(default=str).iterencode(own):  # lazy: stops early
            size += len(chunk)
            if size > MAX_DESCRIPTION:
                break
    except (ValueError, RecursionError):  # cyclic or absurdly deep
        raise CheckpointError(f"{label}'s description is cyclic or nested too deeply to read. "
                              "Save the model again.") from None
    if size > MAX_DESCRIPTION:
        raise CheckpointError(f"{label}'s description expands to over "
                              f"{MAX_DESCRIPTION // 10**6} MB of text. Save the model again "
                              "with a plain description.")


def _vocabulary(container: Any) -> Vocabulary | None:
    if not isinstance(container, Mapping):
        return None
    for key in VOCAB_KEYS:
        v = container.get(key)
        if isinstance(v, (list, tuple)) and 0 < len(v) <= MAX_VOCABULARY \
                and all(isinstance(s, str) for s in v):
            try:
                return Vocabulary(tuple(v))
            except GRUVizError:
                return None
    return None


def _assemble(tensors: Mapping[str, np.ndarray], meta: dict, gru_name: str | None,
              reset_after: bool, vocabulary: Vocabulary | None,
              warnings: tuple[str, ...]) -> Checkpoint:
    grus = find_grus(tensors, reset_after=reset_after)
    names = tuple(g.name for g in grus)
    if gru_name is None:
        chosen: FoundGRU = grus[0]
        if len(grus) > 1:
            warnings += (f"{_SEVERAL} found: {', '.join(g.label for g in grus)}; showing "
                         f"{chosen.label}. Choose another with gru=NAME.",)
    else:
        matches = [g for g in grus if g.name == gru_name]
        if not matches:
            raise CheckpointError(f"No GRU named {gru_name!r}; this file has "
                                  f"{', '.join(repr(n) for n in names)}.")
        chosen = matches[0]
    emb_key = find_embedding(tensors, chosen)
    head_key = find_head(tensors, chosen, emb_key)
    head_bias = None
    if head_key is not None:
        b = tensors.get(head_key[: -len("weight")] + "bias")
        head_bias = b if b is not None and b.shape == (tensors[head_key].shape[0],) else None
    V = tensors[emb_key].shape[0] if emb_key else chosen.model.input_size  # one-hot input
    if vocabulary is not None and len(vocabulary) != V:
        warnings += (f"The vocabulary has {len(vocabulary)} symbols but the model takes {V}; "
                     "it is ignored.",)
        vocabulary = None
    if head_key and (emb_key or vocabulary) and tensors[head_key].shape[0] != V:
        warnings += (f"The linear head {head_key!r} gives {tensors[head_key].shape[0]} outputs, "
                     f"not one per symbol ({V}): it may be the first of several layers, so no "
                     "next-symbol probabilities are shown.",)
    non_finite = tuple(k for k, a in tensors.items()
                       if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all())
    if non_finite:
        warnings += (f"NaN or inf values in {', '.join(non_finite[:8])}"
                     + (" and more" if len(non_finite) > 8 else "")
                     + ": the traces will show them; the training likely diverged.",)
    meta = meta | {"gru": chosen.name, "gru_cell": chosen.cell, "reset_after": reset_after,
                   "embedding_key": emb_key, "head_key": head_key}
    return Checkpoint(
        model=chosen.model, gru_name=chosen.name, gru_names=names, has_bias=chosen.bias,
        embedding=tensors[emb_key] if emb_key else None,
        head_weight=tensors[head_key] if head_key else None, head_bias=head_bias,
        vocabulary=vocabulary, warnings=warnings, non_finite=non_finite,
        tensors=MappingProxyType(dict(tensors)),
        description_json=json.dumps(meta, default=str))


def load_checkpoint(source: str | os.PathLike | bytes, *, gru: str | None = None,
                    max_mb: float | None = None, name: str | None = None) -> Checkpoint:
    """Load a ``.pt/.pth/.ckpt/.bin`` (torch zip) or ``.safetensors`` file, path or bytes.

    ``gru`` chooses among several GRUs by key prefix (see ``Checkpoint.gru_names``);
    ``max_mb`` overrides the size cap (default: GRUVIZ_MAX_UPLOAD_MB, see gru_viz.limits);
    ``name`` labels uploaded bytes in messages.
    """
    max_mb = limits().max_upload_mb if max_mb is None else max_mb
    data, label = _read(source, max_mb, name)
    meta: dict[str, Any] = {"file": label, "bytes": len(data)}
    container: Any = None
    if data[:4] == b"PK\x03\x04":
        _check_unpacked_size(data, label, max_mb)
        container = _load_torch(data, label)
        raw, path = _unwrap(container, label)
        meta["container"] = "/".join(path) or "state dict"
        if isinstance(container, Mapping):
            if "pytorch-lightning_version" in container:
                meta["container"] = "Lightning checkpoint"
            if container.get("format") == FORMAT_NAME:
                own = {k: container.get(k) for k in
                       ("format_version", "model_args", "description", "training", "metrics")}
                _check_description(own, label)
                meta |= own
    elif _is_safetensors(data):
        raw, st_meta = _load_safetensors(data, label)
        meta |= {"container": "safetensors", "safetensors_metadata": st_meta}
    elif data[:1] == b"\x80":
        raise CheckpointError(f"{label} is a plain Python pickle (or a pre-1.6 torch file), "
                              f"which runs code when read: it {SAFE_SAVE}")
    else:
        raise CheckpointError(f"{label} is neither a torch file (zip, from torch.save) nor a "
                              f"safetensors file: its first bytes are {data[:8]!r}. Accepted: "
                              f"{', '.join(EXTENSIONS)}.")
    # Views can declare far more elements than their storage holds (stride 0): refuse before
    # NumPy copies them. Float16 doubles as float32, tied weights count twice: 4x is generous.
    declared = sum(t.numel() * max(t.element_size(), 4) for t in raw.values())
    if declared > 4 * len(data) + 2**20:
        raise CheckpointError(f"{label} declares {declared / 2**20:.0f} MB of tensors in a "
                              f"{len(data) / 2**20:.1f} MB file: its tensors repeat values "
                              "(expanded views), which a saved state dict never does. Save "
                              "model.state_dict() with torch.save.")
    renamed = strip_prefixes(list(raw))
    warnings: tuple[str, ...] = ()
    tensors: dict[str, np.ndarray] = {}
    for old, new in renamed.items():
        try:
            tensors[new] = _to_numpy(raw[old])
        except Exception as exc:  # sparse, quantized or meta tensors: not weights we can show
            warnings += (f"Skipped {old!r} ({type(exc).__name__}).",)
    meta["stripped_prefixes"] = sorted({o[: len(o) - len(n)] for o, n in renamed.items() if o != n})
    model_args = meta.get("model_args") if isinstance(meta.get("model_args"), Mapping) else {}
    ckpt = _assemble(tensors, meta, gru, bool(model_args.get("reset_after", True)),
                     _vocabulary(container), warnings)
    try:
        check_model(ckpt.model.hidden_size, ckpt.model.num_layers)
    except GRUVizError as exc:
        raise CheckpointError(f"{label}: {exc}") from None
    return ckpt
