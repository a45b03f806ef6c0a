"""What a run records: frozen, read-only arrays of every gate at every timestep.

Shapes: ``(B, T, H)`` for a batch, ``(T, H)`` for a single sequence (the batch axis is dropped
exactly when the input had none). Time index t is the position in the input for both
directions; a reverse direction reads the sequence from t = T-1 down to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Per-step fields recorded for each layer and direction, in display order.
STEP_FIELDS = ("a_r", "a_z", "a_n", "r", "z", "hn", "n", "h")


def _readonly(a):  # NumPy arrays become read-only; torch tensors (autograd engine) pass through
    if isinstance(a, np.ndarray):
        a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class LayerTrace:
    """One layer and direction.

    x   (B?, T, I)  this layer's input (layer k>0 reads [h_fwd, h_bwd] of layer k-1)
    h0  (B?, H)     initial state
    a_r, a_z, a_n   gate pre-activations, r = σ(a_r), z = σ(a_z), n = tanh(a_n)
    hn  (B?, T, H)  the recurrent term inside the candidate, reset applied:
                    r ⊙ (W_hn h + b_hn) (reset after) or W_hn (r ⊙ h) + b_hn (reset before)
    h   (B?, T, H)  new state: h = (1 − z) ⊙ n + z ⊙ h_prev
    """

    layer: int
    reverse: bool
    reset_after: bool
    x: np.ndarray
    h0: np.ndarray
    a_r: np.ndarray
    a_z: np.ndarray
    a_n: np.ndarray
    r: np.ndarray
    z: np.ndarray
    hn: np.ndarray
    n: np.ndarray
    h: np.ndarray

    def __post_init__(self) -> None:
        for name in ("x", "h0") + STEP_FIELDS:
            _readonly(getattr(self, name))

    @property
    def steps(self) -> int:
        return self.h.shape[-2]

    @property
    def hidden_size(self) -> int:
        return self.h.shape[-1]

    @property
    def h_prev(self) -> np.ndarray:
        """The state each step started from (B?, T, H), in this direction's reading order."""
        h, h0 = self.h, self.h0[..., None, :]
        if isinstance(h, np.ndarray):
            parts = [h[..., 1:, :], h0] if self.reverse else [h0, h[..., :-1, :]]
            return _readonly(np.concatenate(parts, axis=-2))
        import torch

        parts = [h[..., 1:, :], h0] if self.reverse else [h0, h[..., :-1, :]]
        return torch.cat(parts, dim=-2)

    @property
    def name(self) -> str:
        return f"layer {self.layer}" + (" reverse" if self.reverse else "")


@dataclass(frozen=True, eq=False)
class Trace:
    """A whole run: ``layers[k][d]`` plus what ``torch.nn.GRU`` returns.

    output (B?, T, D·H): last layer's states, forward then reverse (torch's ``output``)
    h_n    (L·D, B?, H): final state of each layer and direction (torch's ``h_n``)
    """

    layers: tuple[tuple[LayerTrace, ...], ...]
    output: np.ndarray
    h_n: np.ndarray

    def __post_init__(self) -> None:
        _readonly(self.output)
        _readonly(self.h_n)

    @property
    def steps(self) -> int:
        return self.output.shape[-2]

    def cells(self) -> list[LayerTrace]:
        """Every layer and direction in torch's order (l0, l0_reverse, l1, ...)."""
        return [c for layer in self.layers for c in layer]
