"""How long each unit remembers: retention, half-life, and each update split into kept and written.

With h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ n_t, the share of h_t that survives unchanged (along the
direct path) to step u is ∏_{s=t+1..u} z_s. The whole state changes by the written part
(1 − z_t) ⊙ (n_t − h_{t−1}). A reverse direction reads from the end, so its "following steps"
are the earlier positions; every array here keeps input positions on its time axis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gru_viz.core.errors import InputError
from gru_viz.core.notation import PYTORCH, Notation
from gru_viz.core.trace import LayerTrace

HALF = np.log(0.5)


def _z_in_reading_order(cell: LayerTrace) -> np.ndarray:
    z = np.asarray(cell.z, dtype=np.float64)
    return z[::-1] if cell.reverse else z


def _to_positions(a: np.ndarray, reverse: bool) -> np.ndarray:
    return a[::-1] if reverse else a


def retention_to_end(cell: LayerTrace) -> np.ndarray:
    """(T, H): ∏ z over the steps after t to the end of the sequence (1 at the last step)."""
    z = _z_in_reading_order(cell)
    after = np.cumprod(z[::-1], axis=0)[::-1]  # after[t] = ∏_{s ≥ t} z_s
    out = np.concatenate([after[1:], np.ones((1, z.shape[1]))])
    return _to_positions(out, cell.reverse)


MATRIX_STEPS = 500  # the steps a retention matrix shows at once (it grows as T²)


def retention_matrix(cell: LayerTrace, unit: int, window: tuple[int, int] | None = None,
                     max_steps: int = MATRIX_STEPS) -> np.ndarray:
    """(T, T) for one unit: M[t, u] = ∏ z_s over the steps s after t up to u, the share of h_t
    left at step u; NaN where u comes before t in reading order.

    ``window`` (start, stop) restricts t and u to those steps (the products need no step
    outside them); more than ``max_steps`` steps at once are refused, since the matrix, its
    work and its figure grow as T²."""
    z = _z_in_reading_order(cell)[:, unit]
    if window is not None:
        start, stop = window
        if cell.reverse:  # positions -> reading order
            start, stop = len(z) - stop, len(z) - start
        z = z[start:stop]
    T = len(z)
    if max_steps < T:
        raise InputError(f"A retention matrix over {T} steps has {T * T:,} cells; this view "
                         f"shows at most {max_steps} steps at once. Choose a window.")
    M = np.full((T, T), np.nan)
    for t in range(T):
        M[t, t:] = np.cumprod(np.concatenate([[1.0], z[t + 1:]]))
    return M[::-1, ::-1] if cell.reverse else M


def half_life_from(cell: LayerTrace) -> np.ndarray:
    """(T, H): steps after t until ∏ z falls to ½ or below; inf when it stays above to the end."""
    z = _z_in_reading_order(cell)
    T, H = z.shape
    out = np.full((T, H), np.inf)
    for t in range(T - 1):
        below = np.cumprod(z[t + 1:], axis=0) <= 0.5  # row k − 1: after k steps
        hit = below.any(axis=0)
        out[t, hit] = below.argmax(axis=0)[hit] + 1
    return _to_positions(out, cell.reverse)


@dataclass(frozen=True)
class Split:
    """Each step's state split into what the update gate keeps and what it lets in (T, H).

    kept = z ⊙ h_prev, added = (1 − z) ⊙ n, so h = kept + added;
    written = (1 − z) ⊙ (n − h_prev), the change, so h = h_prev + written.
    """

    kept: np.ndarray
    added: np.ndarray
    written: np.ndarray


def split(cell: LayerTrace) -> Split:
    z, n, hp = cell.z, cell.n, cell.h_prev
    return Split(kept=z * hp, added=(1 - z) * n, written=(1 - z) * (n - hp))


def unit_table(cell: LayerTrace, notation: Notation = PYTORCH) -> dict[str, np.ndarray]:
    """One row per unit (columns of equal length), for a sortable table; the update gate's
    column in ``notation`` (course: "mean Γu", the mean of 1 − z).

    The typical half-life assumes z stayed at its geometric mean: ln ½ / mean(ln z).
    """
    with np.errstate(divide="ignore"):  # z = 0 (a clamped gate) keeps nothing: log 0 = −inf
        mean_lz = np.log(cell.z).mean(axis=0)
        typical = np.where(mean_lz < 0, HALF / np.minimum(mean_lz, -1e-300), np.inf)
    s = split(cell)
    first = retention_to_end(cell)[-1 if cell.reverse else 0]
    return {
        "unit": np.arange(cell.hidden_size),
        f"mean {notation.update}": notation.update_values(cell.z).mean(axis=0),
        "half-life (steps)": typical,
        "kept from the first step to the end": first,
        "mean |written|": np.abs(s.written).mean(axis=0),
        "mean |h|": np.abs(cell.h).mean(axis=0),
    }
