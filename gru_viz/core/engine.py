"""The NumPy engine: run a GRU over a sequence and record every gate at every step.

The equations it computes are ``gru_viz.core.reference.step``, written there as a textbook
writes them; this module is the same arithmetic rearranged for speed (tested against it).

The input projections of all steps are one matrix product before the loop; the loop holds only
what the recurrence needs (one or two products with W_h*, a few in-place element-wise ops),
writing each step straight into the recorded arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gru_viz.core.errors import InputError
from gru_viz.core.limits import Limits, check_input
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import LayerTrace, Trace
from gru_viz.core.weights import GRUWeights


def run_layer_numpy(w: GRUWeights, x: np.ndarray, h0: np.ndarray) -> dict[str, np.ndarray]:
    """One layer, one direction, time-major: x (T, B, I), h0 (B, H) -> fields (T, B, H).

    The arithmetic of ``gru_viz.core.reference.step`` (read that first), rearranged for speed.

    The input side of every step is one matrix product before the loop, written into the
    array that then holds the pre-activations (the loop adds the recurrent side in place). At
    small H, Python calls dominate, so the loop is one product with W_h* (two with reset
    before) and ten in-place ufuncs writing straight into the records. σ(a) = ½(1 + tanh(a/2)),
    with the gate rows of the weights pre-scaled by ½ (exact in binary): one tanh call for
    both gates. With B = 1 the per-step slices are vectors and the product is h @ W_hᵀ, the
    faster BLAS form.
    """
    T, B, I = x.shape
    H, dt = w.hidden_size, x.dtype
    if w.dtype != dt:  # cast first: bias sums such as b_ir + b_hr are then exact in dt
        w = w.astype(dt)
    ra = w.reset_after
    half = np.array(0.5, dt)
    W_i = np.concatenate([w.W_ir * half, w.W_iz * half, w.W_in]).astype(dt)
    b_i = np.concatenate([(w.b_ir + w.b_hr) * half, (w.b_iz + w.b_hz) * half,
                          w.b_in if ra else w.b_in + w.b_hn]).astype(dt)
    a = np.dot(x.reshape(T * B, I), W_i.T).reshape(T, B, 3 * H)  # [a_r/2 | a_z/2 | a_n]
    a += b_i
    # The states carry a constant 1 after their H values, so that the product also adds
    # b_hn, which sits inside the reset gate (reset after: W_hn joins the one product).
    W_hT = np.concatenate([w.W_hr * half, w.W_hz * half] + ([w.W_hn] if ra else [])).T
    b_h = np.concatenate([np.zeros(2 * H)] + ([w.b_hn] if ra else []))
    W_hT = np.ascontiguousarray(np.vstack([W_hT, b_h]).astype(dt))  # (H + 1, 2H or 3H)
    W_hnT = np.ascontiguousarray(w.W_hn.T.astype(dt))  # reset before: its own product

    gates = np.empty((T, B, 2 * H), dt)  # r | z
    hn, n = np.empty((T, B, H), dt), np.empty((T, B, H), dt)
    h1 = np.empty((T + 1, B, H + 1), dt)  # h1[t + 1] = [the state after step t, 1]
    h1[0, :, :H] = h0
    h1[..., H] = 1
    h = h1[..., :H]
    gh, d = np.empty((B, W_hT.shape[1]), dt), np.empty((B, H), dt)
    per_step = [a[..., :2 * H], a[..., 2 * H:], gates, gates[..., :H], gates[..., H:], hn, n,
                h1[:-1], h[:-1], h[1:]]
    if B == 1:
        per_step = [p[:, 0] for p in per_step]
        gh, d = gh[0], d[0]
    g = gh[..., 2 * H:]  # reset after: W_hn h + b_hn
    dot, tanh, add, subtract, multiply = np.dot, np.tanh, np.add, np.subtract, np.multiply
    for a_rz, a_n, rz, r, z, hn_t, n_t, hp1, hp, h_t in zip(*per_step):
        # Outputs are passed by position and the functions bound locally: at small H each
        # step is a few microseconds, much of it call overhead.
        dot(hp1, W_hT, gh)
        add(a_rz, gh[..., :2 * H], a_rz)
        tanh(a_rz, rz)
        add(rz, 1, rz)
        multiply(rz, half, rz)
        if ra:  # hn = r ⊙ (W_hn h + b_hn)
            multiply(r, g, hn_t)
        else:  # hn = W_hn (r ⊙ h); b_hn is in a_n already
            multiply(r, hp, d)
            dot(d, W_hnT, hn_t)
        add(a_n, hn_t, a_n)
        tanh(a_n, n_t)
        subtract(hp, n_t, d)  # h = n + z ⊙ (h_prev − n)
        multiply(d, z, d)
        add(n_t, d, h_t)
    if not ra:  # report hn as the whole recurrent term, b_hn included
        hn += w.b_hn.astype(dt)
    a_rz = a[..., :2 * H]
    a_rz += a_rz  # a = 2·(a/2)
    return {"a_r": a[..., :H], "a_z": a[..., H:2 * H], "a_n": a[..., 2 * H:],
            "r": gates[..., :H], "z": gates[..., H:], "hn": hn, "n": n, "h": h[1:]}


def check_input_shape(model: GRUModel, shape: tuple[int, ...]) -> bool:
    """Whether an input of this shape is a batch; raises InputError when it does not fit."""
    if len(shape) not in (2, 3):
        raise InputError(f"Input must be (T, I) or (B, T, I); got shape {tuple(shape)}.")
    if shape[-1] != model.input_size:
        raise InputError(f"Input has {shape[-1]} feature(s) per step; this model takes "
                         f"{model.input_size}.")
    return len(shape) == 3


def as_h0(model: GRUModel, h0, B: int, dtype) -> np.ndarray:
    LD, H = model.num_layers * model.num_directions, model.hidden_size
    if h0 is None:
        return np.zeros((LD, B, H), dtype)
    h0 = np.array(h0, dtype=dtype)
    shape = h0.shape
    if h0.ndim == 2:
        h0 = np.broadcast_to(h0[:, None, :], (LD, B, H)) if shape == (LD, H) else h0
    if h0.shape != (LD, B, H):
        raise InputError(f"h0 has shape {shape}; expected ({LD}, {H}) or ({LD}, {B}, {H}) "
                         "(layers × directions, [batch,] hidden).")
    return h0


@dataclass(frozen=True)
class Engine:
    """What differs between the NumPy and the torch engine; ``stack`` holds what is shared.

    layer(weights, x (T, B, I), h0 (B, H)) -> {field: (T, B, H)}, all time-major.
    """

    layer: Callable[[GRUWeights, Any, Any], dict]
    flip_time: Callable[[Any], Any]  # reverse axis 0
    swap01: Callable[[Any], Any]  # (B, T, ...) <-> (T, B, ...)
    cat: Callable[[list, int], Any]


def stack(model: GRUModel, x, h0, engine: Engine, batched: bool) -> Trace:
    """Every layer and direction with torch.nn.GRU's wiring: x (B, T, I), h0 (L·D, B, H).

    The reverse direction reads the time-reversed input; its records are flipped back so that
    index t is always input position t. Layer k>0 reads [h_fwd, h_bwd] of layer k-1.
    """
    T, D = x.shape[1], model.num_directions

    def unbatch(a, axis=0):
        return a if batched else a[(slice(None),) * axis + (0,)]

    layers, finals, inp = [], [], x
    for k, cells in enumerate(model.cells):
        traces, states = [], []
        for d, w in enumerate(cells):
            reverse, hk = model.reads_backwards(k, d), h0[k * D + d]
            xt = engine.swap01(inp)
            rec = engine.layer(w, engine.flip_time(xt) if reverse else xt, hk)
            rec = {f: engine.swap01(engine.flip_time(a) if reverse else a) for f, a in rec.items()}
            traces.append(LayerTrace(layer=k, reverse=reverse, reset_after=w.reset_after,
                                     x=unbatch(inp), h0=unbatch(hk),
                                     **{f: unbatch(a) for f, a in rec.items()}))
            states.append(rec["h"])
            finals.append(hk if T == 0 else rec["h"][:, 0 if reverse else T - 1])
        inp = states[0] if D == 1 else engine.cat(states, -1)  # one direction: no copy
        layers.append(tuple(traces))
    h_n = engine.cat([f[None] for f in finals], 0)
    return Trace(layers=tuple(layers), output=unbatch(inp), h_n=unbatch(h_n, axis=1))


NUMPY = Engine(
    layer=lambda w, x, h0: run_layer_numpy(w, np.ascontiguousarray(x), h0),
    flip_time=lambda a: a[::-1],
    swap01=lambda a: np.swapaxes(a, 0, 1),
    cat=lambda parts, axis: np.concatenate(parts, axis=axis),
)


def run(model: GRUModel, x, h0=None, dtype: np.dtype | type | None = None, *,
        time_major: bool = False, limits: Limits | None = None) -> Trace:
    """Run ``model`` over x (T, I) or (B, T, I) from h0 (zeros when None) in NumPy.

    A 3-D x is batch-major (B, T, I) unless ``time_major=True``: then it is (T, B, I), as
    ``nn.GRU`` takes it by default (batch_first=False). The Trace is batch-major either way.
    h0 is (L·D, H) or (L·D, B, H), as torch takes it. Computes in ``dtype`` (default: the
    model's). Returns a read-only Trace of NumPy arrays. For a live torch module, use
    ``gru_viz.record(module, x)``. ``limits``: refuse a model or run over them (the app and
    the command line pass the server's; the engine reads no environment).
    """
    if not isinstance(model, GRUModel):
        if hasattr(model, "named_modules") and hasattr(model, "forward"):
            raise InputError(f"run() takes a GRUModel; this is a torch module "
                             f"({type(model).__name__}). Use gru_viz.record(module, x) to "
                             "record the GRUs inside it on the inputs they receive.")
        raise InputError(f"run() takes a GRUModel, not a {type(model).__name__}.")
    dtype = np.dtype(dtype or model.dtype)
    x = np.array(x, dtype=dtype)  # a copy: the trace freezes it, the caller's stays writable
    if time_major:
        if x.ndim != 3:
            raise InputError(f"time_major=True needs a (T, B, I) input; got shape {x.shape}.")
        x = np.ascontiguousarray(x.swapaxes(0, 1))
    batched = check_input_shape(model, x.shape)
    xb = x if batched else x[None]
    if limits is not None:
        check_input(model, xb.shape, limits, dtype.itemsize)
    h0b = as_h0(model, h0, xb.shape[0], dtype)
    for name, a in (("input", xb), ("h0", h0b)):
        if not np.isfinite(a).all():
            where = np.argwhere(~np.isfinite(a))[0].tolist()
            raise InputError(f"The {name} holds NaN or inf (first at index {where}).")
    with np.errstate(all="ignore"):  # NaN/inf weights give NaN states, shown as such
        return stack(model, xb, h0b, NUMPY, batched)
