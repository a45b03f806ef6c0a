"""Keras models read with h5py alone (no TensorFlow, no Keras): ``.keras`` and legacy ``.h5``.

A Keras 3 ``.keras`` file is a zip of ``config.json`` (the layers) and ``model.weights.h5``
(a GRU's weights at ``layers/<name>/cell/vars/0..2``); a legacy ``.h5`` holds the config in
the ``model_config`` attribute and the weights under ``model_weights/<name>`` in the order of
its ``weight_names``. A GRU has kernel (I, 3H), recurrent_kernel (H, 3H) and bias (2, 3H)
(``reset_after=True``: input and recurrent bias) or (3H,) (``reset_after=False``), columns in
the gate order z | r | h; we transpose and reorder them to rows r | z | n. Keras's update
``h = z ⊙ h_prev + (1 − z) ⊙ hh`` gives z the same meaning as PyTorch.

Consecutive GRU layers (``GRU``, ``RNN(GRUCell)``, ``Bidirectional(GRU)``) that feed each other
with ``return_sequences=True`` form one stack. ``go_backwards`` layers read the sequence from
the end and return it in that order, so a layer after one reads positions backwards too: each
layer's direction is tracked exactly (a reverse-only layer, see GRUModel.reverse_only). An
``Embedding`` directly before and a ``Dense`` directly after are found. Options that change the
equations (other activations, custom cells) are refused naming the layer and the option.

HDF5 files are untrusted: only hard links are followed (never external or soft links, never
external storage or virtual datasets), and every dataset's declared size is checked before
it is read.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gru_viz.core.errors import CheckpointError, WeightsError
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights
from gru_viz.io.arrays import read_only
from gru_viz.io.detect import FoundGRU

MAX_CONFIG = 16 * 2**20  # bytes of config JSON
MAX_LAYERS = 10_000
RECURRENT = ("GRU", "RNN", "Bidirectional")
CONTAINERS = ("Sequential", "Functional", "Model")
PASS_THROUGH = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
                "ActivityRegularization")


class _Weights:
    """Reads a layer's weights in Keras's order from either file layout, safely."""

    def __init__(self, h5, legacy: bool, label: str, budget: int) -> None:
        self.h5, self.legacy, self.label, self.budget = h5, legacy, label, budget

    def _get(self, group, path: str):
        import h5py

        node = group
        for part in [p for p in path.split("/") if p]:
            if not isinstance(node, h5py.Group):
                return None
            link = node.get(part, getlink=True)
            if link is None:
                return None
            if not isinstance(link, h5py.HardLink):
                raise CheckpointError(f"{self.label}: the weights file links {path!r} to "
                                      "another place (a soft or external link), which gru-viz "
                                      "never follows. Save the model again.")
            node = node[part]
        return node

    def _read(self, ds, where: str) -> np.ndarray:
        import h5py

        if not isinstance(ds, h5py.Dataset):
            raise CheckpointError(f"{self.label}: {where} is not an array.")
        if ds.is_virtual or ds.external:
            raise CheckpointError(f"{self.label}: {where} is stored outside the file (external "
                                  "or virtual storage), which gru-viz never reads.")
        if ds.dtype.kind != "f":
            raise CheckpointError(f"{self.label}: {where} holds {ds.dtype}, not floats.")
        n = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize
        if n > self.budget:
            raise CheckpointError(f"{self.label}: {where} declares shape {ds.shape}, more than "
                                  "the file can hold. The file is corrupt or hostile.")
        try:
            a = np.array(ds[()])
        except Exception as exc:
            raise CheckpointError(f"{self.label} is a truncated or corrupt Keras file: {where} "
                                  f"cannot be read ({type(exc).__name__}).") from None
        return read_only(a)

    def _vars(self, path: str) -> list[np.ndarray]:
        group = self._get(self.h5, path)
        if group is None:
            return []
        keys = sorted((k for k in group if k.isdigit()), key=int)
        return [self._read(self._get(group, k), f"{path}/{k}") for k in keys]

    def layer(self, path: tuple[str, ...], name: str, class_name: str) -> list[np.ndarray]:
        """The layer's weights in Keras's order (GRU: kernel, recurrent_kernel[, bias])."""
        if self.legacy:
            group = self._get(self.h5, f"model_weights/{name}")
            if group is None:
                group = self._get(self.h5, name)
            if group is None:
                return []
            names = [n.decode() if isinstance(n, bytes) else str(n)
                     for n in group.attrs.get("weight_names", [])]
            out = []
            for n in names:
                ds = self._get(group, n)
                if ds is None:
                    raise CheckpointError(f"{self.label}: weight {n!r} of layer {name!r} is "
                                          "listed but missing. Save the model again.")
                out.append(self._read(ds, n))
            return out
        base = "/".join(("layers",) + path)
        if class_name == "Bidirectional":
            return self._vars(f"{base}/forward_layer/cell/vars") + \
                self._vars(f"{base}/backward_layer/cell/vars")
        if class_name in ("GRU", "RNN"):
            return self._vars(f"{base}/cell/vars")
        return self._vars(f"{base}/vars")


def _cell_config(cfg: Mapping, name: str, label: str, class_name: str) -> Mapping:
    """The GRU options of a GRU or RNN(GRUCell) layer; refuses what we cannot reproduce."""
    c = cfg.get("config", {})
    if class_name == "RNN":
        cell = c.get("cell") or {}
        cell_class = cell.get("class_name") if isinstance(cell, Mapping) else None
        if cell_class != "GRUCell":
            raise CheckpointError(f"{label}: layer {name!r} is an RNN with the cell "
                                  f"{cell_class!r}; gru-viz reproduces keras.layers.GRUCell "
                                  "only (custom cells are not read).")
        options = dict(cell.get("config", {}))
        options |= {k: c.get(k) for k in ("return_sequences", "go_backwards") if k in c}
        return options
    return c


def _check_options(c: Mapping, name: str, label: str) -> None:
    for option, default in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        value = c.get(option, default)
        if value != default:
            raise CheckpointError(f"{label}: layer {name!r} uses {option}={value!r}; gru-viz "
                                  f"shows the standard GRU ({option}={default!r}). Refused "
                                  "rather than shown wrong.")


def _gru_cell(ws: list[np.ndarray], use_bias: bool, reset_after: bool, name: str,
              label: str) -> GRUWeights:
    if len(ws) != (3 if use_bias else 2):
        raise CheckpointError(f"{label}: GRU layer {name!r} has {len(ws)} weight arrays, "
                              f"expected {3 if use_bias else 2}.")
    kernel, rec = ws[0], ws[1]
    if rec.ndim != 2 or rec.shape[1] != 3 * rec.shape[0] or kernel.ndim != 2 \
            or kernel.shape[1] != rec.shape[1]:
        raise CheckpointError(f"{label}: GRU layer {name!r} has kernel {kernel.shape} and "
                              f"recurrent_kernel {rec.shape}; expected (I, 3H) and (H, 3H).")
    H = rec.shape[0]

    def order(a: np.ndarray) -> np.ndarray:  # z | r | h along axis 0 -> r | z | n
        return np.concatenate([a[H:2 * H], a[:H], a[2 * H:]])

    def rows(a: np.ndarray) -> np.ndarray:  # columns z | r | h -> rows r | z | n
        return order(a.T)

    b_ih = b_hh = None
    if use_bias:
        bias = ws[2]
        want = (2, 3 * H) if reset_after else (3 * H,)
        if bias.shape != want:
            raise CheckpointError(f"{label}: GRU layer {name!r} has bias {bias.shape}, expected "
                                  f"{want} with reset_after={reset_after}.")
        if reset_after:
            b_ih, b_hh = order(bias[0]), order(bias[1])
        else:
            b_ih = order(bias)
            b_hh = np.zeros_like(b_ih)
    return GRUWeights.from_fused(rows(kernel), rows(rec), b_ih, b_hh, reset_after=reset_after)


@dataclass
class _Stack:
    names: list[str]
    layers: list[tuple[GRUWeights, ...]]
    reverse: list[bool]
    reset_after: bool
    D: int
    flipped: bool  # the sequence the next layer receives runs backwards (go_backwards)
    open: bool  # return_sequences with concat merge: another GRU may read it
    embedding: str | None = None
    head: str | None = None
    notes: list[str] = field(default_factory=list)
    bias: bool = False


def _snake(class_name: str) -> str:
    """keras.src.utils.naming.to_snake_case: where Keras 3 saves a layer's weights."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _flatten(cfg: Mapping, label: str, path: tuple[str, ...] = (), depth: int = 0
             ) -> list[tuple[tuple[str, ...], str, Mapping]]:
    """(weights path, name, config) of every layer, nested models expanded, in order.

    Keras 3 saves a container's layers under their class names made unique in order
    (``gru``, ``gru_1``, …), not under the layers' own names (see saving_lib)."""
    layers = cfg.get("config", {}).get("layers")
    if not isinstance(layers, list):
        return []
    out, used = [], {}
    for layer in layers[:MAX_LAYERS]:
        if not isinstance(layer, Mapping):
            continue
        config = layer.get("config") if isinstance(layer.get("config"), Mapping) else {}
        name = str(config.get("name", layer.get("name", "?")))
        snake = _snake(str(layer.get("class_name", "")))
        if snake in used:
            used[snake] += 1
            snake = f"{snake}_{used[snake]}"
        else:
            used[snake] = 0
        if layer.get("class_name") in CONTAINERS and depth < 8:
            out += _flatten(layer, label, path + (snake, "layers"), depth + 1)
        else:
            out.append((path + (snake,), name, layer))
    return out


def _inbound(layer: Mapping) -> set[str]:
    """Names of the layers a functional-model layer reads (Keras 3 and Keras 2 formats)."""
    found: set[str] = set()

    def walk(v: Any, depth: int = 0) -> None:
        if depth > 12:
            return
        if isinstance(v, Mapping):
            hist = v.get("keras_history")
            if isinstance(hist, list) and hist:
                found.add(str(hist[0]))
            for x in v.values():
                walk(x, depth + 1)
        elif isinstance(v, list):
            if len(v) >= 3 and isinstance(v[0], str) and isinstance(v[1], int):
                found.add(v[0])  # Keras 2: [name, node, tensor, kwargs]
            for x in v:
                walk(x, depth + 1)

    walk(layer.get("inbound_nodes", []))
    return found


@dataclass
class _Assembly:
    """What the walk over a Keras model's layers, in order, has found so far."""

    weights: _Weights
    label: str
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    stacks: list[_Stack] = field(default_factory=list)
    others: set[str] = field(default_factory=set)  # other recurrent layers; mask:<embedding>
    current: _Stack | None = None  # the stack the next GRU layer may join
    prev_name: str | None = None
    prev_class: str | None = None
    pending_emb: str | None = None  # an embedding the next GRU layer may read


def _assemble_keras(config: Mapping, weights: _Weights, label: str):
    from gru_viz.io.checkpoint import Contents

    if not isinstance(config, Mapping):
        raise CheckpointError(f"{label}: the Keras config is not a JSON object.")
    layers = _flatten(config, label) if config.get("class_name") in CONTAINERS else \
        [((), str(config.get("config", {}).get("name", "layer")), config)]
    functional = config.get("class_name") != "Sequential"
    a = _Assembly(weights, label)
    for path, name, layer in layers:
        cls = layer.get("class_name")
        cfg = layer.get("config", {}) if isinstance(layer.get("config"), Mapping) else {}
        direct = (not functional) or (a.prev_name in _inbound(layer))
        if cls in RECURRENT:
            _recurrent(a, path, name, layer, cfg, direct)
        elif cls != "InputLayer":
            _other_layer(a, path, name, cls, cfg, direct)
    if not a.stacks:
        listed = ", ".join(sorted(o for o in a.others if not o.startswith("mask:")))
        raise CheckpointError(f"{label} is a Keras model with no GRU layer"
                              + (f" (recurrent layers: {listed})" if listed else "")
                              + ". gru-viz shows GRUs (keras.layers.GRU).")
    grus, warnings = _found_grus(a)
    return Contents(a.tensors, grus, None, {"container": "Keras"}, warnings)


def _unwrap(cls: str, layer: Mapping, cfg: Mapping, name: str, label: str
            ) -> tuple[Any, Mapping, str]:
    """(class, config, merge mode) of the recurrent layer itself, inside a Bidirectional."""
    if cls != "Bidirectional":
        return cls, layer, "concat"
    inner = cfg.get("layer", {})
    inner_cls = inner.get("class_name")
    back = cfg.get("backward_layer")
    if isinstance(back, Mapping) and back.get("class_name") not in (None, inner_cls):
        raise CheckpointError(f"{label}: layer {name!r} has a different backward "
                              "layer; gru-viz reads Bidirectional(GRU) only.")
    return inner_cls, inner, cfg.get("merge_mode", "concat")


def _cells(ws: list[np.ndarray], bidirectional: bool, use_bias: bool, reset_after: bool,
           name: str, label: str) -> tuple[GRUWeights, ...]:
    """The layer's cells: (forward, backward) of a Bidirectional, else one."""
    if not bidirectional:
        return (_gru_cell(ws, use_bias, reset_after, name, label),)
    n = 3 if use_bias else 2
    if len(ws) != 2 * n:
        raise CheckpointError(f"{label}: Bidirectional layer {name!r} has {len(ws)} "
                              f"weight arrays, expected {2 * n}.")
    return (_gru_cell(ws[:n], use_bias, reset_after, name, label),
            _gru_cell(ws[n:], use_bias, reset_after, name, label))


def _recurrent(a: _Assembly, path: tuple[str, ...], name: str, layer: Mapping, cfg: Mapping,
               direct: bool) -> None:
    """A GRU, RNN(GRUCell) or Bidirectional layer: its cells join the current stack or open
    a new one; other recurrent layers are only listed."""
    cls = layer.get("class_name")
    inner_cls, inner, merge = _unwrap(cls, layer, cfg, name, a.label)
    if inner_cls not in ("GRU", "RNN"):
        a.others.add(f"{name!r} ({inner_cls})")
        a.current, a.prev_name, a.prev_class = None, name, cls
        return
    c = _cell_config(inner, name, a.label, inner_cls)
    _check_options(c, name, a.label)
    use_bias = bool(c.get("use_bias", True))
    reset_after = bool(c.get("reset_after", True))
    bidirectional = cls == "Bidirectional"
    cells = _cells(a.weights.layer(path, name, cls), bidirectional, use_bias, reset_after, name,
                   a.label)
    backwards = not bidirectional and bool(c.get("go_backwards", False))
    keys = ("forward", "backward") if bidirectional else ("",)
    for key, cell in zip(keys, cells):
        for field_name, arr in cell.fused().items():
            a.tensors[f"{name}{'.' + key if key else ''}.{field_name}"] = arr
    current = _stack_for(a, cells, reset_after, direct)
    D = len(cells)
    reverse = current.flipped != backwards  # reads original positions backwards
    current.names.append(name)
    current.layers.append(cells)
    current.bias |= use_bias
    current.reverse.append(reverse if D == 1 else False)
    current.flipped = reverse if D == 1 else current.flipped
    current.open = bool(c.get("return_sequences", False)) and merge == "concat"
    if merge != "concat":
        current.notes.append(f"{name!r} merges its directions by {merge!r}: no layer "
                             "after it is attached")
    if backwards:
        current.notes.append(f"{name!r} has go_backwards=True")
    a.prev_name, a.prev_class = name, cls


def _stack_for(a: _Assembly, cells: tuple[GRUWeights, ...], reset_after: bool,
               direct: bool) -> _Stack:
    """The stack these cells join: the current one when they read its whole output, else a
    new one (which takes the embedding just before it, when it fits)."""
    current, D = a.current, len(cells)
    fits = (current is not None and current.open and direct
            and current.reset_after == reset_after and current.D == D
            and current.layers[-1][0].hidden_size == cells[0].hidden_size
            and cells[0].hidden_size * D == cells[0].input_size
            and not (D == 2 and current.flipped))
    if fits:
        return current
    a.current = _Stack([], [], [], reset_after, D, False, True)
    a.stacks.append(a.current)
    if a.pending_emb is not None and a.tensors[a.pending_emb].shape[1] == \
            cells[0].input_size and a.prev_class == "Embedding" and direct:
        a.current.embedding = a.pending_emb
    return a.current


def _other_layer(a: _Assembly, path: tuple[str, ...], name: str, cls: Any, cfg: Mapping,
                 direct: bool) -> None:
    """A layer that is not recurrent: an embedding the next GRU may read, a Dense head right
    after a GRU, a pass-through layer, or a layer that ends the current stack."""
    if cls in ("LSTM", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "CuDNNGRU", "CuDNNLSTM"):
        a.others.add(f"{name!r} ({cls})")
    if cls in PASS_THROUGH:  # identity at inference: the layers around it stay direct
        a.prev_name = name
        return
    current = a.current
    if cls == "Embedding":
        _embedding(a, path, name, cfg)
    elif cls == "Dense" and current is not None and direct and a.prev_class in RECURRENT \
            and current.head is None and not any("merges" in n for n in current.notes):
        _head(a, current, path, name, cfg)
    if cls != "Embedding":
        a.pending_emb = None
    a.current, a.prev_name, a.prev_class = None, name, cls


def _embedding(a: _Assembly, path: tuple[str, ...], name: str, cfg: Mapping) -> None:
    ws = a.weights.layer(path, name, "Embedding")
    a.pending_emb = None
    if len(ws) == 1 and ws[0].ndim == 2:
        a.tensors[f"{name}.weight"] = ws[0]
        a.pending_emb = f"{name}.weight"
        if cfg.get("mask_zero"):
            a.others.add(f"mask:{name}")


def _head(a: _Assembly, current: _Stack, path: tuple[str, ...], name: str,
          cfg: Mapping) -> None:
    """A Dense layer reading the stack's output: its linear head, when the shapes fit."""
    ws = a.weights.layer(path, name, "Dense")
    H = current.layers[-1][0].hidden_size
    if ws and ws[0].ndim == 2 and ws[0].shape[0] == current.D * H:
        a.tensors[f"{name}.weight"] = np.ascontiguousarray(ws[0].T)
        if len(ws) > 1 and ws[1].shape == (ws[0].shape[1],):
            a.tensors[f"{name}.bias"] = ws[1]
        current.head = f"{name}.weight"
        act = cfg.get("activation", "linear")
        if act not in ("linear", "softmax", None):
            current.notes.append(f"the head {name!r} applies {act!r} after the linear "
                                 "part shown")


def _found_grus(a: _Assembly) -> tuple[tuple[FoundGRU, ...], tuple[str, ...]]:
    """One FoundGRU a stack, and the warnings about them."""
    grus = []
    warnings: tuple[str, ...] = ()
    for s in a.stacks:
        try:
            model = GRUModel(tuple(s.layers), tuple(s.reverse))
        except WeightsError as exc:
            raise CheckpointError(f"{a.label}: GRU layers {s.names}: {exc}") from None
        name = s.names[0] if len(s.names) == 1 else " → ".join(s.names)
        keys = tuple(k for k in a.tensors if k.split(".")[0] in s.names)
        source = (f"Keras {'layers' if len(s.names) > 1 else 'layer'} "
                  f"{', '.join(repr(n) for n in s.names)}, reset_after={s.reset_after}"
                  + "".join(f"; {n}" for n in s.notes))
        if s.flipped:
            source += "; Keras returns this sequence last step first, ours is by position"
        grus.append(FoundGRU(name, model, keys, cell=False, bias=s.bias, embedding=s.embedding,
                             head=s.head, assigned=True, source=source))
        if s.embedding and f"mask:{s.embedding.split('.')[0]}" in a.others:
            warnings += (f"The embedding {s.embedding.split('.')[0]!r} has mask_zero=True: "
                         "Keras skips steps whose id is 0, gru-viz runs every step.",)
    return tuple(grus), warnings


def _h5(data: bytes, label: str):
    try:
        import h5py
    except ImportError:
        raise CheckpointError("Reading Keras files needs the h5py package: pip install "
                              "h5py.") from None
    try:
        return h5py.File(io.BytesIO(data), "r")
    except Exception:
        raise CheckpointError(f"{label} is a truncated or corrupt Keras file: its HDF5 weights "
                              "cannot be opened. Save the model again.") from None


def _json(raw: bytes | str, label: str) -> Any:
    if len(raw) > MAX_CONFIG:
        raise CheckpointError(f"{label}: the Keras config is over {MAX_CONFIG // 2**20} MB.")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise CheckpointError(f"{label} is a truncated or corrupt Keras file: its config is "
                              "not valid JSON. Save the model again.") from None


def read_keras(data: bytes, label: str, max_mb: float, kind: str):
    """A ``.keras`` (kind "keras") or legacy ``.h5`` (kind "keras-h5") model as checkpoint
    contents (see io.checkpoint.Contents)."""
    budget = 4 * len(data) + 2**20
    if kind == "keras":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                infos = {i.filename.rsplit("/", 1)[-1]: i for i in z.infolist()}
                total = sum(i.file_size for i in z.infolist())
                if total > max_mb * 2**20:
                    raise CheckpointError(f"{label} unpacks to {total / 2**20:.0f} MB, over the "
                                          f"limit of {max_mb:g} MB (GRUVIZ_MAX_UPLOAD_MB).")
                if infos["config.json"].file_size > MAX_CONFIG:
                    raise CheckpointError(f"{label}: the Keras config is over "
                                          f"{MAX_CONFIG // 2**20} MB.")
                config = _json(z.read(infos["config.json"]), label)
                weights_bytes = z.read(infos["model.weights.h5"])
        except CheckpointError:
            raise
        except Exception as exc:
            raise CheckpointError(f"{label} is a truncated or corrupt .keras file "
                                  f"({type(exc).__name__}). Save the model again.") from None
        budget = 4 * len(weights_bytes) + 2**20
        with _h5(weights_bytes, label) as h5:
            return _assemble_keras(config, _Weights(h5, False, label, budget), label)
    with _h5(data, label) as h5:
        raw = h5.attrs.get("model_config")
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        config = _json(str(raw), label)
        return _assemble_keras(config, _Weights(h5, True, label, budget), label)
