"""ONNX models: every ``GRU`` node, its weights converted to our r | z | n rows.

ONNX stores W (D, 3H, I), R (D, 3H, H) and B (D, 6H) = [Wb | Rb] with the gates in the order
z | r | h. ``linear_before_reset=0`` (the default) applies the reset gate before the recurrent
product (our reset before), 1 after it (PyTorch's form). ``direction`` forward, reverse (a
reverse-only layer, run exactly so) and bidirectional; ``layout`` changes only the shapes of X
and Y, not the weights. ``sequence_lens`` is an input of the run, not of the model: running
each sequence to its own length reproduces ONNX's Y and Y_h for it. ``clip`` and activations
other than Sigmoid/Tanh are refused by name: they change the equations.

The file is parsed with the ``onnx`` package; no graph is run. Weights must be stored in the
file (initializers or Constant nodes); external data files are never opened.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import numpy as np

from gru_viz.core.errors import CheckpointError, WeightsError
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights
from gru_viz.io.arrays import read_only
from gru_viz.io.detect import FoundGRU

DEFAULT_ACTIVATIONS = ("sigmoid", "tanh")
MAX_GRAPH_DEPTH = 8


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError:
        raise CheckpointError("Reading .onnx files needs the onnx package: "
                              "pip install onnx.") from None
    return onnx, numpy_helper


def _array(tensor, label: str, budget: int) -> np.ndarray:
    """An initializer as a read-only array, refusing external data and lying sizes."""
    onnx, numpy_helper = _onnx()
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        raise CheckpointError(f"{label}: tensor {tensor.name!r} is stored in an external data "
                              "file, which gru-viz does not open. Save the model with its "
                              "weights inside (onnx.save_model(m, path, "
                              "save_as_external_data=False)).")
    n = 1
    for d in tensor.dims:
        if d < 0:
            raise CheckpointError(f"{label}: tensor {tensor.name!r} has a negative dimension.")
        n *= d
    if n * 8 > budget:
        raise CheckpointError(f"{label}: tensor {tensor.name!r} declares shape "
                              f"{tuple(tensor.dims)}, more than the file holds. The file is "
                              "corrupt or hostile; export it again.")
    try:
        a = numpy_helper.to_array(tensor)
    except Exception as exc:
        raise CheckpointError(f"{label} is a truncated or corrupt ONNX file: tensor "
                              f"{tensor.name!r} cannot be read ({type(exc).__name__}). Export "
                              "it again.") from None
    return read_only(np.array(a))


def _constants(graph, label: str, budget: int) -> dict[str, Any]:
    """name -> TensorProto of initializers and Constant nodes' values."""
    out = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    out[node.output[0]] = attr.t
    return out


def _nodes(graph, depth: int = 0):
    """Every node, including those in subgraphs (Loop, If, Scan bodies), with its graph."""
    for node in graph.node:
        yield node, graph
        if depth < MAX_GRAPH_DEPTH:
            for attr in node.attribute:
                if attr.HasField("g"):
                    yield from _nodes(attr.g, depth + 1)
                for g in attr.graphs:
                    yield from _nodes(g, depth + 1)


def _attrs(node) -> dict[str, Any]:
    onnx, _ = _onnx()
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _cell(W: np.ndarray, R: np.ndarray, B: np.ndarray | None, H: int,
          reset_after: bool) -> GRUWeights:
    """One direction: ONNX rows z | r | h -> our r | z | n."""
    def reorder(a: np.ndarray) -> np.ndarray:
        return np.concatenate([a[H:2 * H], a[:H], a[2 * H:3 * H]])

    b_ih = b_hh = None
    if B is not None:
        b_ih, b_hh = reorder(B[:3 * H]), reorder(B[3 * H:])
    return GRUWeights.from_fused(reorder(W), reorder(R), b_ih, b_hh, reset_after=reset_after)


def _options(attrs: dict[str, Any], where: str, label: str) -> tuple[str, int, bool]:
    """(direction, D, reset_after) of a GRU node; refuses options we cannot reproduce."""
    if "clip" in attrs:
        raise CheckpointError(f"{label}: {where} uses clip={attrs['clip']:g}, which bounds the "
                              "pre-activations; gru-viz computes without clipping. Export "
                              "the model without clip.")
    direction = _text(attrs.get("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise CheckpointError(f"{label}: {where} has direction {direction!r}; ONNX defines "
                              "forward, reverse and bidirectional.")
    D = 2 if direction == "bidirectional" else 1
    acts = tuple(_text(a).lower() for a in attrs.get("activations", ()))
    if acts and acts != DEFAULT_ACTIVATIONS * D:
        raise CheckpointError(f"{label}: {where} uses activations "
                              f"{[_text(a) for a in attrs['activations']]}; gru-viz shows the "
                              "standard GRU (Sigmoid, Tanh). Export with the default "
                              "activations.")
    return direction, D, bool(attrs.get("linear_before_reset", 0))


def _stored_weights(inputs: list[str], consts: dict, name: str, where: str, label: str,
                    budget: int, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The node's W, R and (when given) B, read from the file's initializers."""
    arrays = {}
    for role, key in zip(("W", "R", "B"), inputs[1:4]):
        if not key:
            continue
        if key not in consts:
            raise CheckpointError(f"{label}: {where} takes its {role} weights from {key!r}, "
                                  "which is a graph input, not stored in the file. Export the "
                                  "model with its weights as initializers.")
        arrays[role] = _array(consts[key], label, budget)
        tensors[f"{name}.{role}"] = arrays[role]
    if "W" not in arrays or "R" not in arrays:
        raise CheckpointError(f"{label}: {where} lacks its W or R input.")
    return arrays


def _hidden_size(W: np.ndarray, R: np.ndarray, B: np.ndarray | None, D: int,
                 attrs: dict[str, Any], direction: str, where: str, label: str) -> int:
    """H, once W (D, 3H, I), R (D, 3H, H) and B (D, 6H) agree on it."""
    if R.ndim != 3 or R.shape[0] != D or R.shape[1] != 3 * R.shape[2]:
        raise CheckpointError(f"{label}: {where} has R of shape {R.shape}, expected "
                              f"({D}, 3H, H) for direction {direction}.")
    H = R.shape[2]
    if "hidden_size" in attrs and int(attrs["hidden_size"]) != H:
        raise CheckpointError(f"{label}: {where} says hidden_size={attrs['hidden_size']} but "
                              f"R has H = {H}.")
    if W.ndim != 3 or W.shape[:2] != (D, 3 * H):
        raise CheckpointError(f"{label}: {where} has W of shape {W.shape}, expected "
                              f"({D}, {3 * H}, I).")
    if B is not None and B.shape != (D, 6 * H):
        raise CheckpointError(f"{label}: {where} has B of shape {B.shape}, expected "
                              f"({D}, {6 * H}).")
    if not np.issubdtype(W.dtype, np.floating):
        raise CheckpointError(f"{label}: {where} has {W.dtype} weights; a GRU's are floats.")
    return H


def _gru(node, index: int, consts: dict, label: str, budget: int,
         tensors: dict[str, np.ndarray]) -> FoundGRU:
    name = node.name or (node.output[0] if node.output else f"GRU {index}")
    where = f"GRU node {name!r}"
    attrs = _attrs(node)
    direction, D, reset_after = _options(attrs, where, label)
    inputs = list(node.input) + [""] * 6
    arrays = _stored_weights(inputs, consts, name, where, label, budget, tensors)
    W, R, B = arrays["W"], arrays.get("R"), arrays.get("B")
    H = _hidden_size(W, R, B, D, attrs, direction, where, label)
    try:
        cells = tuple(_cell(W[d], R[d], None if B is None else B[d], H, reset_after)
                      for d in range(D))
        model = GRUModel((cells,), (True,) if direction == "reverse" else ())
    except WeightsError as exc:
        raise CheckpointError(f"{label}: {where}: {exc}") from None
    extra = []
    if len(inputs) > 4 and inputs[4]:
        extra.append("sequence_lens: each sequence runs to its own length")
    layout = int(attrs.get("layout", 0))
    source = (f"ONNX GRU node {name!r} (direction {direction}, layout {layout}, "
              f"linear_before_reset {int(reset_after)}" + "".join(f"; {e}" for e in extra) + ")")
    keys = tuple(f"{name}.{r}" for r in arrays)
    return FoundGRU(name, model, keys, cell=False, bias=B is not None, assigned=True,
                    source=source)


def _embedding(node, graph, consts, label, budget, tensors) -> str | None:
    """The table of a Gather feeding the GRU's X, when it is stored in the file."""
    x = node.input[0] if node.input else ""
    for other in graph.node:
        if other.op_type == "Gather" and x in other.output and other.input \
                and other.input[0] in consts:
            key = f"{other.name or other.input[0]}.embedding"
            tensors[key] = _array(consts[other.input[0]], label, budget)
            return key if tensors[key].ndim == 2 else None
    return None


def _metadata_vocabulary(model):
    """The vocabulary a model's metadata names (a JSON list, or the symbols as one string)."""
    from gru_viz.io.checkpoint import VOCAB_KEYS, vocabulary_from

    for prop in model.metadata_props:
        if prop.key.lower() in VOCAB_KEYS:
            value: Any = prop.value
            with contextlib.suppress(ValueError):  # a JSON list, or the symbols as one string
                value = json.loads(prop.value)
            vocabulary = vocabulary_from(value)
            if vocabulary is not None:
                return vocabulary
    return None


def read_onnx(data: bytes, label: str, max_mb: float):
    """An ONNX model as checkpoint contents (see io.checkpoint.Contents)."""
    from gru_viz.io.checkpoint import Contents

    onnx, _ = _onnx()
    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:
        raise CheckpointError(f"{label} is a truncated or corrupt ONNX file: it cannot be "
                              f"parsed ({type(exc).__name__}). Export it again.") from None
    if not model.HasField("graph"):
        raise CheckpointError(f"{label} is not an ONNX model (no graph). Accepted: torch, "
                              "safetensors, Keras, ONNX and NumPy files.")
    budget = 4 * len(data) + 2**20
    tensors: dict[str, np.ndarray] = {}
    grus, others = [], set()
    for node, graph in _nodes(model.graph):
        if node.op_type == "GRU" and node.domain in ("", "ai.onnx"):
            consts = _constants(graph, label, budget)
            g = _gru(node, len(grus), consts, label, budget, tensors)
            emb = _embedding(node, graph, consts, label, budget, tensors)
            if emb and tensors[emb].shape[1] != g.model.input_size:
                emb = None
            grus.append(FoundGRU(g.name, g.model, g.keys, g.cell, g.bias, emb, None, True,
                                 g.source))
        elif node.op_type in ("LSTM", "RNN"):
            others.add(node.op_type)
    if not grus:
        found = f" It has {', '.join(sorted(others))} nodes, not GRU." if others else ""
        raise CheckpointError(f"{label} is an ONNX model with no GRU node.{found} gru-viz "
                              "shows GRUs (the ONNX GRU operator).")
    names = [g.name for g in grus]
    if len(set(names)) != len(names):
        grus = [FoundGRU(f"{g.name} #{i}", g.model, g.keys, g.cell, g.bias, g.embedding, None,
                         True, g.source) for i, g in enumerate(grus)]
    vocabulary = _metadata_vocabulary(model)
    meta = {"container": "ONNX", "producer": f"{model.producer_name} {model.producer_version}"
            .strip(), "opset": [int(o.version) for o in model.opset_import][:4]}
    return Contents(tensors, tuple(grus), vocabulary, meta)
