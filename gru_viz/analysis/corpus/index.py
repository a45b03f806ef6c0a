"""The top-k index of positions: per unit, the k positions where its value is highest
(lowest), kept as lists that merge exactly by (value, document, offset)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

SIGNS = {"top": 1.0, "bottom": -1.0}


def is_top(name: str) -> bool:
    return any(f".{s}." in name for s in SIGNS)


def top_dict(arrays: Mapping[str, np.ndarray], p: str) -> dict[str, np.ndarray]:
    return {n: arrays[f"{p}.{n}"] for n in ("value", "doc", "offset", "rows", "context")
            if f"{p}.{n}" in arrays}


def merge_top(a: dict[str, np.ndarray], b: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Per unit, the k best of both lists by (signed value desc, document asc, offset asc);
    empty entries (doc −1, value −inf) go last. Arrays are (H, m) or (H, m, ...)."""
    cat = {n: np.concatenate([a[n], b[n]], axis=1) for n in a}
    doc = np.where(cat["doc"] < 0, np.iinfo(np.int64).max, cat["doc"])
    order = np.lexsort((cat["offset"], doc, -cat["value"]), axis=-1)[:, :k]
    (u, kept), m = order.shape, cat["doc"].shape[1]
    at = (order + m * np.arange(u)[:, None]).ravel()  # flat rows: one gather per array
    return {n: v.reshape(u * m, *v.shape[2:])[at].reshape(u, kept, *v.shape[2:])
            for n, v in cat.items()}


def empty_top(H: int, k: int, dtype, context: int | None) -> dict[str, np.ndarray]:
    out = {"value": np.full((H, k), -np.inf), "doc": np.full((H, k), -1, np.int64),
           "offset": np.full((H, k), -1, np.int64), "rows": np.zeros((H, k, H), dtype)}
    if context is not None:
        out["context"] = np.full((H, k, 2 * context + 1), -1, np.int32)
    return out
