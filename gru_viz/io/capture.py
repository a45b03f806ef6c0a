"""Capture files (``run.gruviz.npz``): a recording's GRUs and the inputs they received.

A capture is a NumPy archive of arrays only (read back with ``allow_pickle=False`` through
``io.npzfile``). The member ``gruviz_capture`` is a JSON string describing it; GRU i's arrays
sit under the prefix ``gru{i}.``: torch-style weights (``weight_ih_l0``, …), ``x`` (B, T, I),
``lengths`` (B,), ``h0`` (L·D, B, H), the module's own ``output`` (B, T, D·H) and ``h_n``,
and ``tokens`` (B, T) when labels were given.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from gru_viz.core.errors import CheckpointError, GRUVizError
from gru_viz.core.model import GRUModel
from gru_viz.io.detect import FoundGRU
from gru_viz.io.formats import CAPTURE_KEY

FORMAT = "gru-viz capture"
VERSION = 1
MAX_META = 1_000_000  # characters of the JSON description
ARRAYS = ("x", "lengths", "h0", "output", "h_n")


def capture_bytes(recording) -> bytes:
    """The archive's bytes for a ``Recording`` (see ``io.live``)."""
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for i, g in enumerate(recording.grus):
        p = f"gru{i}."
        arrays |= {p + k: np.asarray(v) for k, v in g.model.state_dict().items()}
        arrays |= {p + k: np.asarray(getattr(g, k)) for k in ARRAYS}
        tokens = recording.tokens
        if tokens is not None and tokens.shape[-1] == g.x.shape[1]:
            rows = tokens if tokens.shape[0] == g.batch else np.broadcast_to(
                tokens[:1], (g.batch, tokens.shape[1]))
            arrays[p + "tokens"] = np.asarray(rows, dtype=str)
        entries.append({"prefix": f"gru{i}", "path": g.path, "kind": g.kind,
                        "reset_after": g.model.reset_after,
                        "reverse_only": list(g.model.reverse_only),
                        "max_error": g.max_error})
    meta = {"format": FORMAT, "version": VERSION, "description": recording.description,
            "grus": entries}
    arrays[CAPTURE_KEY] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _meta(arrays: Mapping[str, np.ndarray], label: str) -> dict[str, Any]:
    raw = arrays[CAPTURE_KEY]
    if raw.dtype.kind != "U" or raw.ndim != 0 or len(str(raw[()])) > MAX_META:
        raise CheckpointError(f"{label}: the capture's description is not a JSON string of at "
                              "most 1 MB. Save the recording again.")
    try:
        meta = json.loads(str(raw[()]))
    except ValueError:
        raise CheckpointError(f"{label}: the capture's description is not valid JSON. Save "
                              "the recording again.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT \
            or not isinstance(meta.get("grus"), list) or not meta["grus"]:
        raise CheckpointError(f"{label} is not a gru-viz capture of version {VERSION}: its "
                              "description lists no GRUs. Save the recording again.")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{label} is a capture of version {meta.get('version')!r}; this "
                              f"gru-viz reads version {VERSION}. Update gru-viz.")
    return meta


def read_capture(arrays: Mapping[str, np.ndarray], label: str):
    """A capture as checkpoint contents: each GRU with the inputs it received."""
    from gru_viz.io.checkpoint import Contents

    meta = _meta(arrays, label)
    tensors: dict[str, np.ndarray] = {}
    grus, captures, names = [], {}, set()
    for n, e in enumerate(meta["grus"]):
        if not isinstance(e, dict) or not isinstance(e.get("prefix"), str):
            raise CheckpointError(f"{label}: capture entry {n} is malformed. Save it again.")
        p = e["prefix"] + "."
        own = {k[len(p):]: a for k, a in arrays.items() if k.startswith(p)}
        weights = {k: a for k, a in own.items() if k.startswith(("weight_", "bias_"))}
        name = str(e.get("path", e["prefix"]))
        while name in names:
            name += "'"
        names.add(name)
        try:
            model = GRUModel.from_state_dict(weights, reset_after=bool(e.get("reset_after",
                                                                             True)))
            flags = e.get("reverse_only") or ()
            if flags:
                model = GRUModel(model.cells, tuple(bool(f) for f in flags))
        except GRUVizError as exc:
            raise CheckpointError(f"{label}: GRU {name!r} of the capture: {exc}") from None
        got = {k: own[k] for k in ARRAYS if k in own}
        missing = [k for k in ("x", "lengths", "h0") if k not in got]
        if missing:
            raise CheckpointError(f"{label}: GRU {name!r} lacks its {', '.join(missing)}.")
        x, lengths, h0 = got["x"], got["lengths"], got["h0"]
        LD, H = model.num_layers * model.num_directions, model.hidden_size
        if x.ndim != 3 or x.shape[2] != model.input_size or lengths.shape != (x.shape[0],) \
                or h0.shape != (LD, x.shape[0], H) or lengths.dtype.kind not in "iu" \
                or (lengths.size and (lengths.min() < 0 or lengths.max() > x.shape[1])):
            raise CheckpointError(f"{label}: GRU {name!r}'s recorded inputs do not fit its "
                                  f"weights (x {x.shape}, lengths {lengths.shape}, h0 "
                                  f"{h0.shape}). Save the recording again.")
        if "tokens" in own and own["tokens"].shape == x.shape[:2] \
                and own["tokens"].dtype.kind == "U":
            got["tokens"] = own["tokens"]
        tensors |= {f"{name}.{k}": a for k, a in weights.items()}
        captures[name] = got
        grus.append(FoundGRU(name, model, tuple(f"{name}.{k}" for k in weights),
                             cell=e.get("kind") == "GRUCell",
                             bias=any(k.startswith("bias") for k in weights), assigned=True,
                             source=f"captured torch.nn.{e.get('kind', 'GRU')} {name!r}"))
    desc = meta.get("description")
    return Contents(tensors, tuple(grus), None,
                    {"container": "gru-viz capture",
                     "description": {"summary": str(desc)[:10_000]} if desc else None},
                    (), captures)
