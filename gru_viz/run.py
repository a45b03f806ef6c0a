"""The NumPy engine: run a GRU over a sequence and record every gate at every step.

The input projections of all steps are one matrix product before the loop; the loop holds only
what the recurrence needs (one or two products with W_h*, a few in-place element-wise ops),
writing each step straight into the recorded arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gru_viz.errors import InputError
from gru_viz.limits import check_model, check_run
from gru_viz.model import GRUModel
from gru_viz.trace import LayerTrace, Trace
from gru_viz.weights import GRUWeights


def run_layer_numpy(w: GRUWeights, x: np.ndarray, h0: np.ndarray) -> dict[str, np.ndarray]:
    """One layer, one direction, time-major: x (T, B, I), h0 (B, H) -> fields (T, B, H).

    At small H, Python calls dominate, so the loop is one product with W_h* (two with reset
    before) and about ten in-place ufuncs. It uses σ(a) = ½(1 + tanh(a/2)) with the gate rows of
    the weights pre-scaled by ½ (exact in binary), so s = tanh(a/2) costs one call and
    r ⊙ g = (1 + s_r) ⊙ (g/2), z ⊙ d = ½(d + s_z ⊙ d); gates are rebuilt from s after the loop.
    States are stored as columns (T, H, B) so that each step's gate slices are contiguous;
    with B = 1 they are plain vectors and the product is h @ W_hᵀ (the faster BLAS form).
    The returned arrays are (T, B, H) views of that storage.
    """
    T, B, _ = x.shape
    H, dt = w.hidden_size, x.dtype
    ra = w.reset_after
    half = np.array(0.5, dt)
    # Input side of every step at once; biases outside the reset gate fold in here.
    W_i = np.concatenate([w.W_ir * half, w.W_iz * half, w.W_in]).astype(dt)
    b_i = np.concatenate([(w.b_ir + w.b_hr) * half, (w.b_iz + w.b_hz) * half,
                          w.b_in if ra else w.b_in + w.b_hn]).astype(dt)
    gi = np.matmul(W_i, x.transpose(0, 2, 1))  # (T, 3H, B)
    gi += b_i[:, None]
    W_h = (np.concatenate([w.W_hr, w.W_hz] + ([w.W_hn] if ra else [])) * half).astype(dt)
    W_hn = (w.W_hn * half).astype(dt)  # reset before only
    b_hn = (w.b_hn * half).astype(dt)[:, None]  # reset after: inside the reset gate

    P = np.empty((T, 2 * H, B), dt)  # a_rz / 2
    S = np.empty((T, 2 * H, B), dt)  # tanh(a_rz / 2)
    hn, a_n, n = (np.empty((T, H, B), dt) for _ in range(3))
    h = np.empty((T + 1, H, B), dt)  # h[0] = h0, h[t + 1] = the state after step t
    h[0] = h0.T
    gh = np.empty((W_h.shape[0], B), dt)
    d, e = np.empty((H, B), dt), np.empty((H, B), dt)
    per_step = [gi[:, :2 * H], gi[:, 2 * H:], P, S, S[:, :H], S[:, H:], hn, a_n, n, h[:-1], h[1:]]
    if B == 1:
        per_step = [a[..., 0] for a in per_step]
        gh, d, e, b_hn = gh[:, 0], d[:, 0], e[:, 0], b_hn[:, 0]

    def product(M: np.ndarray) -> Callable[[np.ndarray, np.ndarray], None]:
        """v -> M v into out, in the faster BLAS form for this layout."""
        if B == 1:
            MT = np.ascontiguousarray(M.T)
            return lambda v, out: np.dot(v, MT, out=out)
        return lambda v, out: np.dot(M, v, out=out)

    h_product, n_product = product(W_h), product(W_hn)
    for gi_rz, gi_n, P_t, S_t, s_r, s_z, hn_t, an_t, n_t, hp, h_t in zip(*per_step):
        h_product(hp, gh)
        np.add(gi_rz, gh[:2 * H], out=P_t)
        np.tanh(P_t, out=S_t)
        if ra:  # hn = r ⊙ (W_hn h + b_hn) = (1 + s_r) ⊙ g, g = (W_hn h + b_hn) / 2
            g = gh[2 * H:]
            g += b_hn
            np.multiply(s_r, g, out=hn_t)
            hn_t += g
        else:  # hn = W_hn (r ⊙ h) = (W_hn / 2)((1 + s_r) ⊙ h); b_hn is in gi
            np.multiply(s_r, hp, out=d)
            d += hp
            n_product(d, hn_t)
        np.add(gi_n, hn_t, out=an_t)
        np.tanh(an_t, out=n_t)
        # h = n + z ⊙ (h_prev − n), z ⊙ d = ½(d + s_z ⊙ d)
        np.subtract(hp, n_t, out=d)
        np.multiply(s_z, d, out=e)
        e += d
        e *= half
        np.add(n_t, e, out=h_t)
    if not ra:  # report hn as the whole recurrent term, b_hn included
        hn += w.b_hn.astype(dt)[:, None]
    S *= half  # the gates σ(a) = ½ + ½·s, in place: fresh pages are costly at these sizes
    S += half
    P += P  # the pre-activations a = 2·(a/2)
    fields = {"a_r": P[:, :H], "a_z": P[:, H:], "a_n": a_n, "r": S[:, :H], "z": S[:, H:],
              "hn": hn, "n": n, "h": h[1:]}
    return {f: a.transpose(0, 2, 1) for f, a in fields.items()}


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
            reverse, hk = d == 1, h0[k * D + d]
            xt = engine.swap01(inp)
            rec = engine.layer(w, engine.flip_time(xt) if reverse else xt, hk)
            rec = {f: engine.swap01(engine.flip_time(a) if reverse else a) for f, a in rec.items()}
            traces.append(LayerTrace(layer=k, reverse=reverse, reset_after=w.reset_after,
                                     x=unbatch(inp), h0=unbatch(hk),
                                     **{f: unbatch(a) for f, a in rec.items()}))
            states.append(rec["h"])
            finals.append(hk if T == 0 else rec["h"][:, 0 if reverse else T - 1])
        inp = engine.cat(states, -1)
        layers.append(tuple(traces))
    h_n = engine.cat([f[None] for f in finals], 0)
    return Trace(layers=tuple(layers), output=unbatch(inp), h_n=unbatch(h_n, axis=1))


NUMPY = Engine(
    layer=lambda w, x, h0: run_layer_numpy(w, np.ascontiguousarray(x), h0),
    flip_time=lambda a: a[::-1],
    swap01=lambda a: np.swapaxes(a, 0, 1),
    cat=lambda parts, axis: np.concatenate(parts, axis=axis),
)


def run(model: GRUModel, x, h0=None, dtype: np.dtype | type | None = None) -> Trace:
    """Run ``model`` over x (T, I) or (B, T, I) from h0 (zeros when None) in NumPy.

    h0 is (L·D, H) or (L·D, B, H), as torch takes it. Computes in ``dtype`` (default: the
    model's). Returns a read-only Trace of NumPy arrays.
    """
    dtype = np.dtype(dtype or model.dtype)
    x = np.array(x, dtype=dtype)  # a copy: the trace freezes it, the caller's stays writable
    batched = check_input_shape(model, x.shape)
    xb = x if batched else x[None]
    check_model(model.hidden_size, model.num_layers)
    check_run(xb.shape[1], xb.shape[0], model.hidden_size,
              model.num_layers * model.num_directions, dtype.itemsize)
    h0b = as_h0(model, h0, xb.shape[0], dtype)
    for name, a in (("input", xb), ("h0", h0b)):
        if not np.isfinite(a).all():
            where = np.argwhere(~np.isfinite(a))[0].tolist()
            raise InputError(f"The {name} holds NaN or inf (first at index {where}).")
    with np.errstate(all="ignore"):  # NaN/inf weights give NaN states, shown as such
        return stack(model, xb, h0b, NUMPY, batched)
