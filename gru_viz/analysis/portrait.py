"""What the phase-portrait page computes for a model: the slow-point search over the states the
model visits, the table of the points found, and the constant input a layer reads.

The page holds the widgets and the words; everything it shows as a number comes from here or
from ``gru_viz.analysis.dynamics``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gru_viz.analysis.dynamics import (
    Field,
    Plane,
    Point,
    affordable_starts,
    fixed_points,
    pca_plane,
    slow_points,
    two_unit,
    unit_plane,
    vector_field,
)
from gru_viz.analysis.units import linear
from gru_viz.core import budget
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights

FIXED_Q = 1e-20  # q = ½‖F(h) − h‖² at most this: a fixed point (up to rounding), else slow


def point_kind(p: Point, fixed_q: float = FIXED_Q) -> str:
    """A point's legend group: its stability, or "slow" when it is not a fixed point."""
    return p.kind if p.q <= fixed_q else "slow"


def search_budget(hidden_size: int) -> tuple[int, int]:
    """(starts, solver iterations) of a slow-point search: each solver step costs about
    starts·H³, so fewer of both for large layers."""
    return (160, 200) if hidden_size <= 32 else (48, 100) if hidden_size <= 64 else (16, 50)


def slow_point_search(model: GRUModel, layer: int, direction: int, x: np.ndarray,
                      xbar: np.ndarray, samples: int = 12, seed: int = 0
                      ) -> tuple[np.ndarray, list[Point], int]:
    """Slow points of one layer and direction under the constant input ``xbar``, searched from
    the states it visits on x (T, I) and on ``samples`` shuffles of x's steps (seeded).

    Returns the states (1 + samples, T, H), the points found, and the number of starts.
    """
    H, cells = model.hidden_size, model.num_layers * model.num_directions
    budget.check(f"Recording {1 + samples} runs of {len(x)} steps", 0,
                 8 * (1 + samples) * len(x) * H * cells * 8,  # 8 recorded arrays a cell
                 "Shorten the input.")
    rng = np.random.default_rng(seed)
    batch = np.stack([x] + [x[rng.permutation(len(x))] for _ in range(samples)])
    states = np.asarray(run(model, batch).layers[layer][direction].h)  # (B, T, H)
    w = model.cells[layer][direction]
    count, iterations = search_budget(w.hidden_size)
    count = max(1, affordable_starts(w.hidden_size, count))  # within the server's budget
    points = slow_points(w, np.asarray(xbar), states.reshape(-1, w.hidden_size), count=count,
                         iterations=iterations)
    return states, points, count


def layer_input(model: GRUModel, x: np.ndarray, layer: int, direction: int, t: int
                ) -> np.ndarray:
    """What ``layer`` reads at step t of x (I,) for layer 0, [h_fwd, h_bwd] of the layer below."""
    return np.asarray(run(model, x).layers[layer][direction].x[t])


def head_reading(head: tuple[np.ndarray, np.ndarray], h: np.ndarray,
                 symbols: Sequence[str] | None = None) -> str:
    """What a linear head reads at state h: the likeliest symbol when it scores ``symbols``
    (one output each), else its first outputs (at most 6)."""
    out = linear(h, *head)
    if symbols is not None and len(symbols) == len(out):
        return repr(symbols[int(out.argmax())])
    return ", ".join(f"{v:+.2f}" for v in out[:6])


def point_rows(points: Sequence[Point], plane: Plane,
               head: tuple[np.ndarray, np.ndarray] | None = None,
               symbols: Sequence[str] | None = None) -> list[dict]:
    """The table of points: kind, coordinates on the plane, slowest and fastest |λ|, q, and
    with ``head`` what it reads there."""
    rows = []
    for p in points:
        c = plane.coords(p.h)
        ev = np.abs(p.eigenvalues)
        row = {"kind": point_kind(p), plane.labels[0]: round(float(c[0]), 4),
               plane.labels[1]: round(float(c[1]), 4), "max |λ|": round(float(ev[0]), 4),
               "min |λ|": round(float(ev[-1]), 4), "q = ½‖F(h) − h‖²": f"{p.q:.1e}"}
        if head is not None:
            row["head reads"] = head_reading(head, p.h, symbols)
        rows.append(row)
    return rows


def square_field(w: GRUWeights, xbar: np.ndarray, plane: Plane, extent: float,
                 per_axis: int) -> Field:
    """The one-step field on ``plane`` over the square [−extent, extent]²."""
    axis = np.linspace(-extent, extent, per_axis)
    return vector_field(w, np.asarray(xbar), plane, axis, axis)


def hand_portrait(W_hn, b_n, b_z: float, xbar, per_axis: int = 85
                  ) -> tuple[GRUWeights, Field, list[Point]]:
    """The slider-set 2-unit GRU (``dynamics.two_unit``), its field over the unit square and
    its fixed points under ``xbar``."""
    w = two_unit(W_hn, b_n, b_z)
    xbar = np.asarray(xbar, dtype=np.float64)
    return w, square_field(w, xbar, unit_plane(2), 1.05, per_axis), fixed_points(w, xbar)


def trajectory(w: GRUWeights, x: np.ndarray) -> np.ndarray:
    """The states of one layer from h0 = 0 over x (T, I): (T + 1, H), the start first."""
    h = run(GRUModel(((w,),)), x).layers[0][0].h
    return np.vstack([np.zeros((1, w.hidden_size)), h])


def pca_view(states: np.ndarray) -> tuple[Plane, np.ndarray, float]:
    """The plane of the top two principal components of states (..., H), the variance share
    each explains, and a square extent that holds every state with a margin."""
    flat = states.reshape(-1, states.shape[-1])
    plane, var = pca_plane(flat)
    return plane, var, float(np.max(np.abs(plane.coords(flat)))) * 1.15 + 1e-3


def fixed_count(points: Sequence[Point]) -> int:
    """How many of the points are fixed (the others are slow)."""
    return sum(point_kind(p) != "slow" for p in points)
