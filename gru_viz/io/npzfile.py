"""NumPy ``.npz`` archives, read without pickle, and GRUs found in them by shape.

Every member's header is read and checked before its data: no object arrays (never
``allow_pickle``), no shape declaring more bytes than the member holds, at most
``MAX_MEMBERS`` members. Keys may follow torch (``rnn.weight_ih_l0``) or any naming where a
(3H, I) and a (3H, H) matrix share a name up to an input/recurrent word (``enc_W_ih`` and
``enc_W_hh``; ``gru/input_kernel`` and ``gru/recurrent_kernel``), with optional (3H,) biases
named the same way with a bias word.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping

import numpy as np

from gru_viz.core.errors import CheckpointError, WeightsError
from gru_viz.core.limits import check_unpacked
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights
from gru_viz.io.arrays import npy_header, read_only
from gru_viz.io.detect import PARTS, FoundGRU, role_words

MAX_MEMBERS = 10_000
INPUT_WORDS = {"ih", "input", "inp", "in", "x", "i", "wi", "ix", "xh"}
RECURRENT_WORDS = {"hh", "hidden", "recurrent", "rec", "h", "wh", "r", "hr"}


def read_npz(data: bytes, label: str, max_mb: float) -> dict[str, np.ndarray]:
    """Every array of the archive, read-only; CheckpointError for anything hostile or cut."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except Exception:
        raise CheckpointError(f"{label} is a truncated or corrupt .npz: its zip directory "
                              "cannot be read. Save it again.") from None
    if len(infos) > MAX_MEMBERS:
        raise CheckpointError(f"{label} holds {len(infos)} arrays, more than the "
                              f"{MAX_MEMBERS} a model file has. Save only the model's arrays.")
    check_unpacked(infos, label, max_mb, CheckpointError)
    return {info.filename[: -len(".npy")]: _read_member(z, info, label) for info in infos}


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> np.ndarray:
    """One array of the archive, its header checked before its bytes are read."""
    key = info.filename[: -len(".npy")]
    try:
        with z.open(info) as f:
            shape, fortran, dtype = npy_header(f)
            if dtype.hasobject:
                raise CheckpointError(f"{label}: array {key!r} holds Python objects, which "
                                      "need pickle to read (never done). Save numbers and "
                                      "strings only.")
            declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if declared > info.file_size:
                raise CheckpointError(f"{label}: array {key!r} declares shape {shape} "
                                      f"({declared} bytes) but stores {info.file_size}: "
                                      "the header lies. Save the file again.")
            raw = f.read(declared)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{label} is a truncated or corrupt .npz: array {key!r} cannot "
                              f"be read ({type(exc).__name__}). Save it again.") from None
    if len(raw) != declared:
        raise CheckpointError(f"{label} is a truncated .npz: array {key!r} is cut short. "
                              "Save it again.")
    a = np.frombuffer(raw, dtype=dtype)
    return read_only(a.reshape(shape[::-1]).T if fortran else a.reshape(shape))


# --- GRUs by shape ---------------------------------------------------------------------------

def _templates(key: str, words: set[str]) -> list[tuple[str, str]]:
    """(template, word) for each part of ``key`` found in ``words``; the part becomes "*"."""
    parts = PARTS.split(key)
    found = []
    for i, p in enumerate(parts):
        if p.lower() in words:
            found.append(("".join(parts[:i] + ["*"] + parts[i + 1:]), p))
    return found


def _is_float(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.floating)


def _matrices_by_template(arrays: Mapping[str, np.ndarray]
                          ) -> tuple[dict[str, str], dict[str, str]]:
    """(template -> input matrix key, template -> recurrent matrix key) of the (3H, ·) float
    matrices whose names hold an input or a recurrent word."""
    ih: dict[str, str] = {}
    hh: dict[str, str] = {}
    for key, a in arrays.items():
        if a.ndim != 2 or not _is_float(a) or a.shape[0] % 3:
            continue
        for template, _ in _templates(key, INPUT_WORDS):
            ih.setdefault(template, key)
        for template, _ in _templates(key, RECURRENT_WORDS):
            if a.shape[0] == 3 * a.shape[1]:
                hh.setdefault(template, key)
    return ih, hh


def _biases_named_like(arrays: Mapping[str, np.ndarray], k_ih: str, k_hh: str, H: int,
                       used: set[str]) -> dict[str, str]:
    """{"ih"/"hh": key} of the unused (3H,) float biases named like each matrix."""
    biases = {}
    for role, weight in (("ih", k_ih), ("hh", k_hh)):
        want = role_words(weight).replace("#W", "#B")
        for key, a in arrays.items():
            if key not in used and a.shape == (3 * H,) and _is_float(a) \
                    and role_words(key) == want and "#B" in want:
                biases[role] = key
    return biases


def find_grus_by_shape(arrays: Mapping[str, np.ndarray], reset_after: bool = True
                       ) -> list[FoundGRU]:
    """GRUs named any way: a (3H, I) and a (3H, H) matrix differing only by an input and a
    recurrent word, with (3H,) biases named like them. Rows are taken as r | z | n (torch)."""
    ih, hh = _matrices_by_template(arrays)
    found, used = [], set()
    for template, k_hh in hh.items():
        k_ih = ih.get(template)
        if k_ih is None or k_ih in used or k_hh in used or k_ih == k_hh:
            continue
        W, R = arrays[k_ih], arrays[k_hh]
        H = R.shape[1]
        if W.shape[0] != 3 * H:
            continue
        biases = _biases_named_like(arrays, k_ih, k_hh, H, used)
        name = template.split("*")[0].rstrip("./_-")
        try:
            model = GRUModel(((GRUWeights.from_fused(
                W, R, arrays.get(biases.get("ih", "")), arrays.get(biases.get("hh", "")),
                reset_after=reset_after),),))
        except WeightsError:
            continue
        keys = (k_ih, k_hh) + tuple(biases.values())
        used.update(keys)
        found.append(FoundGRU(name, model, keys, cell=True, bias=bool(biases),
                              source=f"arrays {k_ih!r} and {k_hh!r}"))
    return found


def strings(arrays: Mapping[str, np.ndarray]) -> dict[str, object]:
    """String arrays as Python values: a 0-d array as a str, a 1-d one as a list of str."""
    out: dict[str, object] = {}
    for key, a in arrays.items():
        if a.dtype.kind == "U" and a.ndim <= 1:
            out[key] = str(a[()]) if a.ndim == 0 else [str(s) for s in a]
    return out


# --- the archive as a checkpoint -------------------------------------------------------------

def read_npz_contents(data: bytes, label: str, max_mb: float):
    """An .npz (or a gru-viz capture) as checkpoint contents (see io.checkpoint.Contents)."""
    from gru_viz.io.checkpoint import VOCAB_KEYS, Contents, vocabulary_from
    from gru_viz.io.detect import find_grus
    from gru_viz.io.formats import CAPTURE_KEY

    arrays = read_npz(data, label, max_mb)
    if CAPTURE_KEY in arrays:
        from gru_viz.io.capture import read_capture

        return read_capture(arrays, label)
    texts = strings(arrays)
    tensors = {k: a for k, a in arrays.items() if a.dtype.kind in "fiub" and k not in texts}
    vocabulary = None
    for key in sorted(texts, key=lambda k: k.count("/") + k.count(".")):
        last = re.split(r"[./]", key)[-1].lower()
        if last in VOCAB_KEYS:
            vocabulary = vocabulary_from(texts[key])
            if vocabulary is not None:
                break
    floats = {k: a for k, a in tensors.items() if _is_float(a)}
    found: list[FoundGRU] = []
    first_error = None
    try:
        found = find_grus(floats)
    except CheckpointError as exc:
        first_error = exc
    used = {k for g in found for k in g.keys}
    found += find_grus_by_shape({k: a for k, a in floats.items() if k not in used})
    if not found:
        if first_error is not None and "No GRU weights found" not in str(first_error):
            raise first_error
        shown = ", ".join(f"{k!r} {a.shape}" for k, a in list(arrays.items())[:8])
        raise CheckpointError(f"{label} holds no GRU: no (3H, I) and (3H, H) matrices named "
                              f"as a pair (e.g. 'gru.weight_ih' and 'gru.weight_hh', or "
                              f"'W_ih' and 'W_hh'). Arrays: {shown or 'none'}.")
    return Contents(tensors, tuple(found), vocabulary, {"container": "npz"})
