"""The statistics file: ``CorpusStats`` (reading, merging, saving, loading and checking it)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gru_viz.analysis.corpus.index import SIGNS, is_top, merge_top, top_dict
from gru_viz.analysis.corpus.subject import cell_prefix, model_digest
from gru_viz.core.errors import GRUVizError, InputError

FORMAT = "gru-viz-corpus"
VERSION = 1
SUFFIX = ".gruviz-corpus.npz"
FIELDS = ("z", "r", "n", "h")
GATES = ("z", "r")
RANGES = {"z": (0.0, 1.0), "r": (0.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}


@dataclass(frozen=True, eq=False)
class Top:
    """One unit's indexed positions, best first: ``value`` is the unit's own value there."""

    doc: np.ndarray  # (k,) document index (−1: empty)
    offset: np.ndarray  # (k,) token offset in the document
    value: np.ndarray  # (k,)
    rows: np.ndarray  # (k, H) every unit's value (same field) at that position
    context: np.ndarray | None  # (k, 2C + 1) ids around it (−1 outside the document)


@dataclass(frozen=True, eq=False)
class CorpusStats:
    """A corpus job's result: ``meta`` (JSON-able) and ``arrays`` (names as listed above,
    prefixed by the cell, e.g. ``l0.h.hist``)."""

    meta: dict
    arrays: Mapping[str, np.ndarray]

    # reading ------------------------------------------------------------------------------
    @property
    def tokens(self) -> int:
        return int(self.arrays["tokens"])

    @property
    def cells(self) -> list[tuple[int, int]]:
        return [(k, d) for k in range(self.meta["layers"]) for d in range(self.meta["directions"])]

    def get(self, layer: int, direction: int, name: str) -> np.ndarray:
        return self.arrays[f"{cell_prefix(layer, direction == 1)}.{name}"]

    def mean(self, layer: int, direction: int, f: str) -> np.ndarray:
        return self.get(layer, direction, f"{f}.sum") / max(self.tokens, 1)

    def std(self, layer: int, direction: int, f: str) -> np.ndarray:
        m = self.mean(layer, direction, f)
        return np.sqrt(np.maximum(self.get(layer, direction, f"{f}.sumsq")
                                  / max(self.tokens, 1) - m * m, 0))

    def saturation(self, layer: int, direction: int, gate: str) -> tuple[np.ndarray, np.ndarray]:
        """(left, right) fractions (H,) of steps below ``meta['left']`` / above ``right``."""
        n = max(self.tokens, 1)
        return (self.get(layer, direction, f"{gate}.below") / n,
                self.get(layer, direction, f"{gate}.above") / n)

    def response(self, layer: int, direction: int):
        """The expected response as ``analysis.units.Response`` (None without symbols)."""
        from gru_viz.analysis.units import Response

        key = f"{cell_prefix(layer, direction == 1)}.dh.sum"
        if key not in self.arrays:
            return None
        return Response(self.arrays[key], self.arrays["symbol.count"])

    def top(self, layer: int, direction: int, f: str, unit: int, sign: str = "top") -> Top:
        p = f"{cell_prefix(layer, direction == 1)}.{f}.{sign}"
        keep = self.arrays[f"{p}.doc"][unit] >= 0
        ctx = self.arrays.get(f"{p}.context")
        s = SIGNS[sign]
        return Top(self.arrays[f"{p}.doc"][unit][keep], self.arrays[f"{p}.offset"][unit][keep],
                   s * self.arrays[f"{p}.value"][unit][keep], self.arrays[f"{p}.rows"][unit][keep],
                   None if ctx is None else ctx[unit][keep])

    def matches(self, layer: int, direction: int, f: str, units, threshold, sign: float = 1.0
                ) -> list[tuple[int, int, np.ndarray, np.ndarray | None]]:
        """Indexed positions where every one of ``units`` is ≥ ``threshold`` (sign −1: −value ≥
        threshold), from the positions where any of them is highest (lowest): a list of
        (document, offset, values of the units there, context), strongest first."""
        units = np.asarray(units, np.int64)
        thr = np.broadcast_to(np.asarray(threshold, float), (self.meta["hidden_size"],))[units]
        which = "top" if sign > 0 else "bottom"
        seen, found = set(), []
        for u in units:
            t = self.top(layer, direction, f, int(u), which)
            for j in range(len(t.doc)):
                key = (int(t.doc[j]), int(t.offset[j]))
                if key in seen:
                    continue
                seen.add(key)
                vals = t.rows[j][units]
                if np.all(sign * vals >= thr):
                    found.append((*key, vals, None if t.context is None else t.context[j]))
        found.sort(key=lambda m: (-float(np.min(sign * m[2] - thr)), m[0], m[1]))
        return found

    def loss(self) -> dict[str, float] | None:
        """Mean loss (nats), bits per symbol and accuracy over every predicted position."""
        if "loss.sum" not in self.arrays:
            return None
        n = int(self.arrays["loss.count"].sum())
        total = float(self.arrays["loss.sum"].sum())
        return {"positions": n, "loss": total / max(n, 1),
                "bits_per_symbol": total / max(n, 1) / math.log(2),
                "accuracy": int(self.arrays["loss.correct"].sum()) / max(n, 1)}

    def doc_name(self, doc: int) -> str:
        return self.meta.get("doc_names", {}).get(str(int(doc)), f"document {int(doc)}")

    def belongs_to(self, subject) -> bool:
        return self.meta.get("model_sha256") == model_digest(subject)

    # merging and files --------------------------------------------------------------------
    def merge(self, other: CorpusStats) -> CorpusStats:
        """The statistics of both corpora (disjoint parts of one corpus): sums add, top-k
        lists merge by (value, document, offset)."""
        a, b = dict(self.arrays), other.arrays
        for key in ("model_sha256", "layers", "hidden_size", "options"):
            if self.meta.get(key) != other.meta.get(key):
                raise GRUVizError(f"These statistics cannot merge: their {key} differ.")
        k = self.meta["options"]["top_k"]
        for name in a:
            if name.endswith(".value"):
                p = name[: -len(".value")]
                merged = merge_top(top_dict(a, p), top_dict(b, p), k)
                a.update({f"{p}.{n}": v for n, v in merged.items()})
        for name in a:
            if not is_top(name):
                a[name] = a[name] + b[name]
        meta = dict(self.meta)
        meta["doc_names"] = self.meta.get("doc_names", {}) | other.meta.get("doc_names", {})
        meta["seconds"] = self.meta.get("seconds", 0) + other.meta.get("seconds", 0)
        meta["skipped"] = max(self.meta.get("skipped", 0), other.meta.get("skipped", 0))
        return CorpusStats(meta, a)

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(self.meta)), **self.arrays)
        os.replace(tmp, path)

    @classmethod
    def load(cls, source: str | os.PathLike | bytes, max_mb: float | None = None) -> CorpusStats:
        """Read a statistics file (untrusted: no pickles; with ``max_mb``, refused when its
        arrays unpack to more) and check that its arrays fit together."""
        import io
        import zipfile

        try:
            f = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
            if max_mb is not None:
                from gru_viz.core.limits import check_unpacked

                with zipfile.ZipFile(f) as zf:
                    check_unpacked(zf.infolist(), "The statistics file", max_mb)
                if isinstance(f, io.BytesIO):
                    f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except InputError:
            raise
        except Exception as exc:  # not an npz, truncated, no meta
            raise InputError(f"Not a corpus statistics file ({type(exc).__name__}: "
                             f"{str(exc)[:120]}).") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT \
                or meta.get("version") != VERSION:
            raise InputError("Not a gru-viz corpus statistics file (no gru-viz-corpus format "
                             "entry of a known version).")
        stats = cls(meta, arrays)
        stats.check()
        return stats

    def check(self) -> None:
        """Raise InputError unless every array the views read has the shape the meta implies."""
        m, a = self.meta, self.arrays
        try:
            H, L, D = int(m["hidden_size"]), int(m["layers"]), int(m["directions"])
            bins, k = int(m["options"]["bins"]), int(m["options"]["top_k"])
            V = len(m["symbols"]) if m.get("symbols") is not None else None
        except (KeyError, TypeError, ValueError):
            raise InputError("The statistics file's description is incomplete.") from None
        want = _shapes(H, L, D, bins, k, V, bool(m.get("has_loss")))
        for name, shape in want.items():
            if name not in a or a[name].shape != shape or a[name].dtype.kind not in "biuf":
                raise InputError(f"The statistics file's {name!r} is missing or not of shape "
                                 f"{shape}.")


def _shapes(H: int, L: int, D: int, bins: int, k: int, V: int | None, loss: bool
            ) -> dict[str, tuple[int, ...]]:
    """The shape of every array a statistics file of these sizes holds."""
    want: dict[str, tuple[int, ...]] = {"tokens": ()}
    if V is not None:
        want["symbol.count"] = (V,)
    for p in (cell_prefix(layer, d == 1) for layer in range(L) for d in range(D)):
        for f in FIELDS:
            want |= {f"{p}.{f}.sum": (H,), f"{p}.{f}.sumsq": (H,), f"{p}.{f}.hist": (H, bins)}
            for s in SIGNS if k else ():
                want |= {f"{p}.{f}.{s}.value": (H, k), f"{p}.{f}.{s}.doc": (H, k),
                         f"{p}.{f}.{s}.offset": (H, k), f"{p}.{f}.{s}.rows": (H, k, H)}
        for g in GATES:
            want |= {f"{p}.{g}.below": (H,), f"{p}.{g}.above": (H,)}
        if V is not None:
            want[f"{p}.dh.sum"] = (V, H)
    if loss:
        want |= {n: (V,) for n in ("loss.sum", "loss.count", "loss.correct")}
    return want
