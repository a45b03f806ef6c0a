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
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from gru_viz.core.errors import CheckpointError, GRUVizError
from gru_viz.core.limits import check_count, check_model, check_unpacked, server_limits
from gru_viz.core.model import GRUModel
from gru_viz.core.summary import Summarised, Summary, reset_text
from gru_viz.io.detect import FoundGRU, find_embedding, find_grus, find_head, sibling_bias
from gru_viz.io.formats import EXTENSIONS, identify  # noqa: F401 (EXTENSIONS: re-exported)
from gru_viz.io.inputs import Vocabulary

MIN_TORCH = (2, 10)  # older versions have known weights_only bypasses
FORMAT_NAME = "gru-viz"  # the "format" entry of our own self-describing files
FORMAT_VERSION = 1
WRAPPERS = ("state_dict", "model_state_dict", "model", "net")  # tried in this order
PREFIXES = ("module.", "model.", "_orig_mod.")  # DataParallel, Lightning, torch.compile
VOCAB_KEYS = ("vocabulary", "vocab", "itos", "stoi", "chars")
MAX_VOCABULARY = 1_000_000  # symbols; longer lists are not a vocabulary we could show
MAX_DESCRIPTION = 1_000_000  # characters of JSON: a real description is a few kB
SAFE_STATE_DICT = "Save only the GRU's state dict with torch.save."
SAFE_SAVE = ("cannot be loaded safely; save `model.state_dict()` instead, e.g. "
             "torch.save(model.state_dict(), 'model.pt').")


@dataclass(frozen=True, eq=False, repr=False)
class Checkpoint(Summarised):
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
    grus: tuple[FoundGRU, ...] = ()  # every GRU of the file (``gru_names`` in order)
    detected_vocabulary: Vocabulary | None = None  # what the file named, before overrides
    captures: Mapping[str, Mapping[str, np.ndarray]] = field(
        default_factory=lambda: MappingProxyType({}))
    # A capture file's recorded inputs for the chosen GRU: "x" (B, T, I), "lengths" (B,),
    # "h0" (L·D, B, H), optional "tokens" (B, T); None for other files.
    capture: Mapping[str, np.ndarray] | None = None

    @property
    def description(self) -> dict[str, Any]:
        return json.loads(self.description_json)

    def select(self, gru_name: str | None = None, *, embedding: str | bool | None = None,
               head: str | bool | None = None,
               vocabulary: Vocabulary | str | list[str] | bool | None = None) -> Checkpoint:
        """The same file with another GRU chosen and/or detection overridden.

        ``embedding``/``head``: None detects again, False drops it, a tensor key chooses it;
        ``vocabulary``: None uses the file's, False drops it, a string (one symbol per
        character), a list of symbols or a Vocabulary replaces it.
        """
        meta = self.description
        meta = {k: v for k, v in meta.items() if k not in ("gru", "gru_cell", "embedding_key",
                                                          "head_key", "gru_source")}
        return _assemble(self.tensors, meta, self.grus, gru_name or self.gru_name,
                         self.detected_vocabulary,
                         tuple(w for w in self.warnings if not w.startswith(_RECOMPUTED)),
                         embedding, head, vocabulary, self.captures)

    def summary(self) -> list[str]:
        """Human-readable lines: what was detected."""
        m = self.model
        cell = " (nn.GRUCell keys)" if self.description["gru_cell"] else ""
        lines = [f"GRU {self.gru_name or '(top level)'}{cell}: {m.describe()}"
                 + ("" if self.has_bias else ", no bias")]
        if self.description.get("gru_source"):
            lines.append(f"From {self.description['gru_source']}")
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

    def _display_summary(self) -> Summary:
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


_SEVERAL = "Several GRUs"
# warnings _assemble writes (select recomputes them); readers' own warnings are kept
_RECOMPUTED = (_SEVERAL, "The vocabulary has", "The linear head", "NaN or inf")


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


def _check_unpacked_size(data: bytes, name: str, max_mb: float) -> None:
    """Refuse a zip whose members unpack to more than the size cap (a zip bomb): torch
    inflates compressed members in full, though torch.save never compresses them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
    except Exception:  # not a readable zip: torch.load reports the corruption
        return
    check_unpacked(infos, name, max_mb, CheckpointError, SAFE_STATE_DICT)


def _pickles(data: bytes, kind: str) -> list[io.BytesIO]:
    """The pickle streams torch.load will unpickle: a zip's ``data.pkl``; the legacy format's
    first five pickles (magic, protocol, system info, the object, its storage keys)."""
    if kind == "torch-legacy":
        return [io.BytesIO(data)] * 5  # one stream: each genops pass ends at its STOP
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [io.BytesIO(z.read(n)) for n in z.namelist() if n.endswith("/data.pkl")]
    except Exception:  # not a readable zip: torch.load reports the corruption
        return []


def _check_records(data: bytes, name: str, kind: str) -> None:
    """Refuse a pickle of too many tensors or records before torch.load builds them (it takes
    ~80 µs a record: 200,000 views of one storage took 37 s). Counting stops at the limit."""
    import pickletools

    most = server_limits().max_tensors
    tensors = records = 0
    for stream in _pickles(data, kind):
        try:
            for op, _, _ in pickletools.genops(stream):
                records += 1
                tensors += op.name == "BINPERSID"  # torch.save: one persistent id a tensor
                check_count(tensors, name, "tensors", most, "GRUVIZ_MAX_TENSORS",
                            CheckpointError, SAFE_STATE_DICT)
                check_count(records, name, "pickle records", 100 * most,
                            "100 × GRUVIZ_MAX_TENSORS", CheckpointError, SAFE_STATE_DICT)
        except CheckpointError:
            raise
        except Exception:  # corrupt or ended: torch.load reports the corruption
            return


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
        check_count(len(header) - ("__metadata__" in header), name, "tensors",
                    server_limits().max_tensors, "GRUVIZ_MAX_TENSORS", CheckpointError,
                    SAFE_STATE_DICT)
        tensors = load(data)
    except CheckpointError:
        raise
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


def vocabulary_from(value: Any) -> Vocabulary | None:
    """A vocabulary from a list or tuple of strings, a string (one symbol per character), a
    ``stoi`` dict (symbol -> id) or an ``itos`` dict (id -> symbol); None if it is none."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.ndim <= 1:
        value = str(value[()]) if value.ndim == 0 else [str(v) for v in value]
    symbols: Any = None
    sequence = isinstance(value, str) or isinstance(value, (list, tuple)) \
        and all(isinstance(v, str) for v in value)
    if sequence and 0 < len(value) <= MAX_VOCABULARY:
        symbols = tuple(value)
    elif isinstance(value, Mapping) and 0 < len(value) <= MAX_VOCABULARY:
        items = list(value.items())
        if all(isinstance(k, str) and isinstance(v, int) for k, v in items):  # stoi
            pairs = sorted((v, k) for k, v in items)
        elif all(isinstance(k, int) and isinstance(v, str) for k, v in items):  # itos
            pairs = sorted(items)
        else:
            return None
        if [i for i, _ in pairs] != list(range(len(pairs))):
            return None  # ids with gaps: not a table we can index
        symbols = tuple(s for _, s in pairs)
    if symbols is None:
        return None
    try:
        return Vocabulary(symbols)
    except GRUVizError:
        return None


def find_vocabulary(container: Any, max_nodes: int = 10_000) -> Vocabulary | None:
    """The first ``vocabulary``/``vocab``/``itos``/``stoi``/``chars`` entry anywhere in nested
    dicts (Lightning's ``hyper_parameters`` included), shallowest first; bounded work."""
    queue, seen, visited = [container], set(), 0
    while queue and visited < max_nodes:
        node = queue.pop(0)
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        visited += 1
        for key in VOCAB_KEYS:
            if key in node:
                found = vocabulary_from(node[key])
                if found is not None:
                    return found
        queue.extend(v for v in list(node.values())[:1000] if isinstance(v, Mapping))
    return None


def _choose(tensors: Mapping[str, np.ndarray], key: Any, cols: int, what: str,
            auto: str | None) -> str | None:
    """An override: None keeps what detection found, False/"" drops it, a key chooses it."""
    if key is None:
        return auto
    if key is False or key == "":
        return None
    if key not in tensors:
        raise CheckpointError(f"No tensor named {key!r} to use as the {what}.")
    shape = np.shape(tensors[key])
    if len(shape) != 2 or shape[1] != cols:
        raise CheckpointError(f"{key!r} has shape {shape}; the {what} must be a matrix with "
                              f"{cols} columns.")
    return key


def _chosen_gru(grus: tuple[FoundGRU, ...], gru_name: str | None, warnings: tuple[str, ...]
                ) -> tuple[FoundGRU, tuple[str, ...]]:
    """The GRU named ``gru_name`` (the first when None, with a warning naming the others)."""
    if gru_name is None:
        chosen = grus[0]
        if len(grus) > 1:
            warnings += (f"{_SEVERAL} found: {', '.join(g.label for g in grus)}; showing "
                         f"{chosen.label}. Choose another with gru=NAME.",)
        return chosen, warnings
    matches = [g for g in grus if g.name == gru_name]
    if not matches:
        raise CheckpointError(f"No GRU named {gru_name!r}; this file has "
                              f"{', '.join(repr(g.name) for g in grus)}.")
    return matches[0], warnings


def _vocabulary_for(vocabulary: Vocabulary | None, vocab_override: Any, V: int,
                    embedded: bool, warnings: tuple[str, ...]
                    ) -> tuple[Vocabulary | None, tuple[str, ...]]:
    """The vocabulary in force for a model reading ``V`` symbols: the override (False or ""
    for none; CheckpointError when it does not fit), else the file's when its size fits."""
    if vocab_override is False or vocab_override == "":
        return None, warnings
    if vocab_override is not None:
        given = vocab_override if isinstance(vocab_override, Vocabulary) \
            else vocabulary_from(vocab_override)
        if given is None:
            raise CheckpointError("The vocabulary must be a string (one symbol per character) "
                                  "or a list of distinct strings.")
        if len(given) != V:
            raise CheckpointError(f"The vocabulary has {len(given)} symbols but the model reads "
                                  f"{V} ({'embedding rows' if embedded else 'one-hot inputs'}).")
        return given, warnings
    if vocabulary is not None and len(vocabulary) != V:
        warnings += (f"The vocabulary has {len(vocabulary)} symbols but the model takes {V}; "
                     "it is ignored.",)
        return None, warnings
    return vocabulary, warnings


def _assemble(tensors: Mapping[str, np.ndarray], meta: dict, grus: tuple[FoundGRU, ...],
              gru_name: str | None, vocabulary: Vocabulary | None, warnings: tuple[str, ...],
              embedding: Any = None, head: Any = None, vocab_override: Any = None,
              captures: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> Checkpoint:
    names = tuple(g.name for g in grus)
    detected = vocabulary
    chosen, warnings = _chosen_gru(grus, gru_name, warnings)
    if chosen.assigned:
        auto_emb, auto_head = chosen.embedding, chosen.head
    else:
        auto_emb = find_embedding(tensors, chosen, names)
        auto_head = find_head(tensors, chosen, auto_emb, names)
    D, H = chosen.model.num_directions, chosen.model.hidden_size
    emb_key = _choose(tensors, embedding, chosen.model.input_size, "embedding", auto_emb)
    head_key = _choose(tensors, head, D * H, "linear head", auto_head)
    head_bias = None
    if head_key is not None:
        b_key = sibling_bias(tensors, head_key)
        b = tensors[b_key] if b_key else None
        head_bias = b if b is not None and b.shape == (tensors[head_key].shape[0],) else None
    V = tensors[emb_key].shape[0] if emb_key else chosen.model.input_size  # one-hot input
    vocabulary, warnings = _vocabulary_for(vocabulary, vocab_override, V, bool(emb_key),
                                           warnings)
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
    meta = meta | {"gru": chosen.name, "gru_cell": chosen.cell,
                   "reset_after": chosen.model.reset_after, "gru_source": chosen.source,
                   "embedding_key": emb_key, "head_key": head_key}
    capture = (captures or {}).get(chosen.name)
    return Checkpoint(
        model=chosen.model, gru_name=chosen.name, gru_names=names, has_bias=chosen.bias,
        embedding=tensors[emb_key] if emb_key else None,
        head_weight=tensors[head_key] if head_key else None, head_bias=head_bias,
        vocabulary=vocabulary, warnings=warnings, non_finite=non_finite,
        tensors=MappingProxyType(dict(tensors)),
        description_json=json.dumps(meta, default=str), grus=tuple(grus),
        detected_vocabulary=detected, captures=MappingProxyType(dict(captures or {})),
        capture=None if capture is None else MappingProxyType(dict(capture)))


def load_checkpoint(source: str | os.PathLike | bytes, *, gru: str | None = None,
                    max_mb: float | None = None, name: str | None = None,
                    embedding: str | bool | None = None, head: str | bool | None = None,
                    vocabulary: Vocabulary | str | list[str] | bool | None = None
                    ) -> Checkpoint:
    """Load a model file (path or bytes) and find its GRUs.

    Read: torch (``.pt/.pth/.ckpt/.bin``, zip or pre-1.6), ``.safetensors``, Keras 3 ``.keras``
    and legacy Keras ``.h5``, ``.onnx``, NumPy ``.npz`` and gru-viz captures (``.gruviz.npz``).
    The format is recognised from the bytes first (see ``gru_viz.io.formats``); other formats
    are refused with what they are and what to export instead.

    ``gru`` chooses among several GRUs (see ``Checkpoint.gru_names``); ``embedding``, ``head``
    and ``vocabulary`` override detection (see ``Checkpoint.select``); ``max_mb`` overrides
    the size cap (default: GRUVIZ_MAX_UPLOAD_MB); ``name`` labels uploaded bytes in messages.
    """
    max_mb = server_limits().max_upload_mb if max_mb is None else max_mb
    if not isinstance(source, (bytes, bytearray, memoryview)) and Path(source).is_dir():
        label = name or Path(source).name
        saved = (Path(source) / "saved_model.pb").exists()
        raise CheckpointError(f"{label} is a folder" + (
            ": a TensorFlow SavedModel, a TensorFlow graph gru-viz does not read. Save the "
            "Keras model as model.save('model.keras') (Keras 3) or export ONNX." if saved else
            ". Give the model file inside it."))
    data, label = _read(source, max_mb, name)
    kind = identify(data, label)
    if not kind.readable:
        raise CheckpointError(kind.message(label))
    meta: dict[str, Any] = {"file": label, "bytes": len(data), "format": kind.kind}
    if kind.kind in ("torch", "torch-legacy", "safetensors"):
        contents = _read_torch(data, label, max_mb, kind.kind, meta)
    elif kind.kind in ("npz", "capture"):
        from gru_viz.io.npzfile import read_npz_contents

        contents = read_npz_contents(data, label, max_mb)
    elif kind.kind in ("keras", "keras-h5"):
        from gru_viz.io.kerasfile import read_keras

        contents = read_keras(data, label, max_mb, kind.kind)
    else:
        from gru_viz.io.onnxfile import read_onnx

        contents = read_onnx(data, label, max_mb)
    meta |= contents.meta
    ckpt = _assemble(contents.tensors, meta, contents.grus, gru, contents.vocabulary,
                     contents.warnings, embedding, head, vocabulary, contents.captures)
    try:
        check_model(ckpt.model.hidden_size, ckpt.model.num_layers)
    except GRUVizError as exc:
        raise CheckpointError(f"{label}: {exc}") from None
    return ckpt


def _read_torch(data: bytes, label: str, max_mb: float, kind: str, meta: dict) -> Contents:
    container: Any = None
    if kind == "safetensors":
        raw, st_meta = _load_safetensors(data, label)
        meta |= {"container": "safetensors", "safetensors_metadata": st_meta}
    else:
        if kind == "torch":
            _check_unpacked_size(data, label, max_mb)
        _check_records(data, label, kind)
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
    grus = tuple(find_grus(tensors, reset_after=bool(model_args.get("reset_after", True))))
    return Contents(tensors, grus, find_vocabulary(container), {}, warnings)


@dataclass(frozen=True, eq=False)
class Contents:
    """What a reader found: arrays by name, the GRUs among them, a vocabulary, description
    entries, warnings, and (capture files) the inputs each GRU received."""

    tensors: dict[str, np.ndarray]
    grus: tuple[FoundGRU, ...]
    vocabulary: Vocabulary | None
    meta: dict[str, Any]
    warnings: tuple[str, ...] = ()
    captures: Mapping[str, Mapping[str, np.ndarray]] | None = None
