"""Find the GRUs in a flat state dict of NumPy arrays, and the embedding and head beside them.

Recurrent keys look like ``[prefix.]weight_ih_l0[_reverse]`` (``nn.GRU``, ``nn.LSTM``,
``nn.RNN``) or ``[prefix.]weight_ih`` (the ``...Cell`` modules). The three share names; only
the row count of ``weight_hh`` (3H for a GRU, 4H for an LSTM, H for a plain RNN) tells them
apart. Every problem is a CheckpointError naming the key and saying what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gru_viz.core.errors import CheckpointError, WeightsError
from gru_viz.core.model import GRUModel, state_key

RNN_KEY = re.compile(r"^(?:(?P<prefix>.+)\.)?(?P<param>weight_ih|weight_hh|bias_ih|bias_hh|"
                     r"weight_hr)(?:_l(?P<layer>\d+)(?P<rev>_reverse)?)?$")
HEAD_HINTS = ("head", "fc", "out", "decoder", "classifier", "linear", "proj", "lm")


@dataclass(frozen=True, eq=False)
class FoundGRU:
    """One GRU of a state dict: ``name`` is its key prefix ("" at top level)."""

    name: str
    model: GRUModel
    keys: tuple[str, ...]
    cell: bool  # nn.GRUCell keys (no ``_l0``)
    bias: bool
    # Readers that know the graph (Keras, ONNX, captures) name the embedding and head here;
    # for state dicts (assigned=False) they are found by shape and prefix.
    embedding: str | None = None
    head: str | None = None
    assigned: bool = False
    source: str = ""  # what the GRU was in its file, e.g. "Keras GRU layer 'gru'"

    @property
    def label(self) -> str:
        return self.name or "(top level)"


def _key(prefix: str, param: str, layer: int | None, rev: bool) -> str:
    name = param if layer is None else state_key(param, layer, rev)
    return f"{prefix}.{name}" if prefix else name


def _groups(sd: Mapping[str, np.ndarray]) -> dict[tuple[str, bool], dict]:
    """(prefix, is_cell) -> {(param, layer, rev): key}."""
    groups: dict[tuple[str, bool], dict] = {}
    for key in sd:
        m = RNN_KEY.match(key)
        if m:
            layer = None if m["layer"] is None else int(m["layer"])
            group = groups.setdefault((m["prefix"] or "", layer is None), {})
            group[(m["param"], layer, bool(m["rev"]))] = key
    return groups


def _shape(sd: Mapping[str, np.ndarray], key: str) -> tuple[int, ...]:
    return tuple(np.shape(sd[key]))


def _kind(sd: Mapping[str, np.ndarray], prefix: str, group: dict) -> tuple[str, int]:
    """('gru' | a description of another RNN, H) from the first layer's weight_hh."""
    hh = group.get(("weight_hh", 0, False)) or group.get(("weight_hh", None, False))
    where = prefix or "the top level"
    if hh is None:
        some = next(iter(group.values()))
        raise CheckpointError(f"{some!r} has no matching weight_hh at {where}: the recurrent "
                              "weights are incomplete. Save the whole model.state_dict().")
    shape = _shape(sd, hh)
    if len(shape) != 2 or shape[1] == 0:
        raise CheckpointError(f"{hh!r} has shape {shape}; a recurrent weight is a matrix "
                              "(rows, H).")
    rows, H = shape
    if any(p == "weight_hr" for p, _, _ in group):
        return f"{where}: an LSTM with projections (weight_hr keys)", H
    if rows == 4 * H:
        return f"{where}: {hh!r} has 4H = {rows} rows: this looks like an LSTM", H
    if rows == H:
        return f"{where}: {hh!r} has H = {rows} rows: this looks like a plain RNN (nn.RNN)", H
    if rows != 3 * H:
        raise CheckpointError(f"{hh!r} has shape {shape}: a GRU's weight_hh is (3H, H), an "
                              "LSTM's (4H, H). This file's shapes do not fit either.")
    return "gru", H


def _build(sd: Mapping[str, np.ndarray], prefix: str, group: dict, cell: bool, H: int,
           reset_after: bool) -> FoundGRU:
    """Check every layer and direction's shapes against H, naming the first bad key."""
    layers = sorted({layer for _, layer, _ in group}) if not cell else [None]
    if not cell and layers != list(range(len(layers))):
        missing = sorted(set(range(max(layers) + 1)) - set(layers))
        raise CheckpointError(f"GRU {prefix or '(top level)'} has keys for layers {layers} but "
                              f"none for layer(s) {missing}. Save the whole model.state_dict().")
    D = 2 if any(rev for _, _, rev in group) else 1
    bias = any(p.startswith("bias") for p, _, _ in group)
    params = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ())
    renamed, I = {}, None
    for layer in layers:
        for rev in (False, True)[:D]:
            for p in params:
                key = group.get((p, layer, rev))
                expected = _key(prefix, p, layer, rev)
                if key is None:
                    raise CheckpointError(f"{expected!r} is missing while its sibling keys are "
                                          "present: the file holds part of a GRU.")
                shape = _shape(sd, key)
                if p == "weight_ih" and layer in (0, None) and len(shape) == 2:
                    I = shape[1] if I is None else I
                cols = {"weight_ih": I if layer in (0, None) else D * H, "weight_hh": H}
                want = (3 * H, cols[p]) if p.startswith("weight") else (3 * H,)
                if shape != want:
                    raise CheckpointError(f"{key!r} has shape {shape}, expected {want} for a GRU "
                                          f"with hidden size {H}, input size {I}, {D} "
                                          "direction(s). The tensors do not fit together.")
                renamed[state_key(p, layer or 0, rev)] = sd[key]
    try:
        model = GRUModel.from_state_dict(renamed, reset_after=reset_after)
    except WeightsError as exc:  # shapes were checked above; kept as a guard with a clear type
        raise CheckpointError(str(exc)) from None
    return FoundGRU(prefix, model, tuple(group.values()), cell, bias)


def find_grus(sd: Mapping[str, np.ndarray], reset_after: bool = True) -> list[FoundGRU]:
    """Every GRU in ``sd`` in key order; raises CheckpointError if there is none."""
    found, others = [], []
    for (prefix, cell), group in _groups(sd).items():
        kind, H = _kind(sd, prefix, group)
        if kind == "gru":
            found.append(_build(sd, prefix, group, cell, H, reset_after))
        else:
            others.append(kind)
    if found:
        return found
    if others:
        raise CheckpointError("No GRU found. " + "; ".join(others) + ". gru-viz shows GRUs "
                              "(nn.GRU or nn.GRUCell weights, weight_hh with 3H rows).")
    keys = list(sd)
    shown = ", ".join(repr(k) for k in keys[:8]) + (f" and {len(keys) - 8} more"
                                                     if len(keys) > 8 else "")
    raise CheckpointError(f"No GRU weights found among {len(keys)} tensor(s): {shown or 'none'}. "
                          "Expected nn.GRU keys like 'weight_ih_l0' or nn.GRUCell keys like "
                          "'weight_ih' (with any prefix).")


SEPARATORS = re.compile(r"[./_\-]")


def _tokens(key: str) -> list[str]:
    return [t for t in SEPARATORS.split(key.lower()) if t]


def shared_prefix(key: str, name: str) -> int:
    """How many leading name parts ``key`` shares with a GRU's prefix ``name``."""
    n = 0
    for a, b in zip(_tokens(key), _tokens(name)):
        if a != b:
            break
        n += 1
    return n


def _owned(key: str, gru: FoundGRU, others: tuple[str, ...]) -> bool:
    """Whether ``key`` sits at least as close (by prefix) to this GRU as to any other: an
    encoder's embedding is never given to the decoder."""
    mine = shared_prefix(key, gru.name)
    return all(mine >= shared_prefix(key, o) for o in others if o != gru.name)


WEIGHT_WORDS = {"w", "weight", "weights", "kernel", "matrix", "mat"}
BIAS_WORDS = {"b", "bias", "biases"}
PARTS = re.compile(r"([./_\-])")


def role_words(key: str) -> str:
    """The key with weight words as "#W" and bias words as "#B" (to pair weights, biases)."""
    return "".join("#W" if p.lower() in WEIGHT_WORDS else "#B" if p.lower() in BIAS_WORDS
                   else p for p in PARTS.split(key))


def sibling_bias(sd: Mapping[str, np.ndarray], key: str) -> str | None:
    """The bias named like ``key`` (``fc.weight`` -> ``fc.bias``; ``out_W`` -> ``out_b``)."""
    if key.endswith("weight"):
        b = key[: -len("weight")] + "bias"
        return b if b in sd else None
    want = role_words(key).replace("#W", "#B")
    if "#B" not in want:
        return None
    return next((k for k, a in sd.items() if np.ndim(a) == 1 and role_words(k) == want), None)


def _layer_like(key: str) -> bool:
    """A torch ``...weight``, or a matrix named like an embedding or a head elsewhere."""
    last = key.lower().rsplit(".", 1)[-1].rsplit("/", 1)[-1]
    return key.endswith("weight") or "emb" in key.lower() or "#W" in role_words(key) \
        or any(h in last for h in HEAD_HINTS)


def _matrices(sd: Mapping[str, np.ndarray], used: set[str], cols: int, gru: FoundGRU,
              others: tuple[str, ...]) -> list[str]:
    return [k for k, a in sd.items() if k not in used and _layer_like(k)
            and np.ndim(a) == 2 and np.shape(a)[1] == cols
            and np.issubdtype(np.asarray(a).dtype, np.floating) and _owned(k, gru, others)]


def find_embedding(sd: Mapping[str, np.ndarray], gru: FoundGRU,
                   others: tuple[str, ...] = ()) -> str | None:
    """The key of a (V, I) table feeding the GRU: named like an embedding, or bias-free; with
    several GRUs (``others``: their names) only tables sharing this GRU's prefix most."""
    cands = [k for k in _matrices(sd, set(gru.keys), gru.model.input_size, gru, others)
             if sibling_bias(sd, k) is None]
    if len(others) > 1:
        cands.sort(key=lambda k: -shared_prefix(k, gru.name))
    named = [k for k in cands if "emb" in k.lower()]
    return (named or cands or [None])[0]


def find_head(sd: Mapping[str, np.ndarray], gru: FoundGRU, embedding: str | None,
              others: tuple[str, ...] = ()) -> str | None:
    """The key of a linear head (V', D·H) reading the GRU's output, preferring usual names
    and, with several GRUs, the prefix of this one."""
    D, H = gru.model.num_directions, gru.model.hidden_size
    cands = _matrices(sd, set(gru.keys) | {embedding}, D * H, gru, others)

    def rank(k: str) -> tuple[int, bool, bool]:
        module = k.lower()[: -len("weight")] if k.endswith("weight") else k.lower()
        closer = -shared_prefix(k, gru.name) if len(others) > 1 else 0
        return (closer, not any(h in module for h in HEAD_HINTS), sibling_bias(sd, k) is None)

    return min(cands, key=rank) if cands else None
