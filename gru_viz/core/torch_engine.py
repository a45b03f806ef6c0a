"""The torch engine: the same recording run as ``gru_viz.run`` in differentiable torch ops.

Written step by step for clarity, not speed; gradients flow to the input, to h0 and to the
weights (pass tensors with ``requires_grad``). torch is imported here only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from gru_viz.core.engine import Engine, as_h0, check_input_shape, stack
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import STEP_FIELDS, Trace
from gru_viz.core.weights import GRUWeights


def cell_tensors(w: GRUWeights, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The weights as torch tensors, by their PyTorch names."""
    return {n: torch.from_numpy(np.array(getattr(w, n))).to(dtype)
            for n in ("W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn",
                      "b_ir", "b_iz", "b_in", "b_hr", "b_hz", "b_hn")}


def step(p: dict[str, torch.Tensor], x: torch.Tensor, h: torch.Tensor,
         reset_after: bool) -> dict[str, torch.Tensor]:
    """One GRU step: x (B, I), h (B, H) -> every recorded field (B, H)."""
    a_r = x @ p["W_ir"].T + p["b_ir"] + h @ p["W_hr"].T + p["b_hr"]
    a_z = x @ p["W_iz"].T + p["b_iz"] + h @ p["W_hz"].T + p["b_hz"]
    r, z = torch.sigmoid(a_r), torch.sigmoid(a_z)
    if reset_after:
        hn = r * (h @ p["W_hn"].T + p["b_hn"])
    else:
        hn = (r * h) @ p["W_hn"].T + p["b_hn"]
    a_n = x @ p["W_in"].T + p["b_in"] + hn
    n = torch.tanh(a_n)
    h_new = (1 - z) * n + z * h
    return {"a_r": a_r, "a_z": a_z, "a_n": a_n, "r": r, "z": z, "hn": hn, "n": n, "h": h_new}


def layer(w: GRUWeights, x: torch.Tensor, h0: torch.Tensor,
          after_step: Callable[[int, torch.Tensor], torch.Tensor] | None = None
          ) -> dict[str, torch.Tensor]:
    """One layer, one direction, time-major: x (T, B, I), h0 (B, H) -> fields (T, B, H).

    ``after_step(t, h)`` may replace the state after step t (t counts the steps as read).
    """
    p = cell_tensors(w, x.dtype)
    T, B = x.shape[:2]
    steps, h = [], h0
    for t in range(T):
        s = step(p, x[t], h, w.reset_after)
        if after_step is not None:
            s["h"] = after_step(t, s["h"])
        steps.append(s)
        h = s["h"]
    if not steps:
        return {f: x.new_zeros((0, B, w.hidden_size)) for f in STEP_FIELDS}
    return {f: torch.stack([s[f] for s in steps]) for f in STEP_FIELDS}


TORCH = Engine(
    layer=layer,
    flip_time=lambda a: torch.flip(a, [0]),
    swap01=lambda a: a.transpose(0, 1),
    cat=lambda parts, axis: torch.cat(parts, dim=axis),
)


def run_torch(model: GRUModel, x, h0=None, dtype: torch.dtype = torch.float64) -> Trace:
    """Run ``model`` in torch ops; the Trace holds tensors connected to x and h0's graphs.

    x: (T, I) or (B, T, I), tensor (may require grad) or array; h0 as ``gru_viz.run.run``.
    """
    x = torch.as_tensor(x).to(dtype)
    batched = check_input_shape(model, tuple(x.shape))
    xb = x if batched else x[None]
    if not isinstance(h0, torch.Tensor):
        h0 = torch.from_numpy(np.array(as_h0(model, h0, xb.shape[0], np.float64)))
    elif h0.ndim == 2:
        h0 = h0[:, None, :].expand(-1, xb.shape[0], -1)
    return stack(model, xb, h0.to(dtype), TORCH, batched)
