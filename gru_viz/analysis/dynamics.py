"""The dynamics of one GRU layer under a constant input: step map, Jacobian, fixed and slow points.

With its input held at x̄, a layer is the map F(h) = (1 − z) ⊙ n + z ⊙ h. A fixed point F(h) = h
is a state the layer can hold forever. Because z < 1, F(h) = h exactly when n(h) = h: the update
gate sets how fast states move, never where they rest. F is a map, not a flow, so a fixed point
is stable when every eigenvalue of F's Jacobian has |λ| < 1 (not Re λ < 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gru_viz.core import budget
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights

POINT_KINDS = ("stable", "saddle", "unstable", "marginal")
MARGIN = 1e-9  # |λ| this close to 1: neither attracting nor repelling to first order


def one_step(w: GRUWeights, xbar: np.ndarray, h: np.ndarray):
    """One step of layer ``w`` from each state h (N, H) under input x̄ (I,): LayerTrace (N, 1, H)."""
    h = np.asarray(h, dtype=np.float64)
    x = np.broadcast_to(np.asarray(xbar, dtype=np.float64), (h.shape[0], 1, w.input_size))
    return run(GRUModel(((w,),)), x, h0=h[None]).layers[0][0]


def step_map(w: GRUWeights, xbar: np.ndarray, h: np.ndarray) -> np.ndarray:
    """F(h, x̄): h (N, H) -> (N, H)."""
    return one_step(w, xbar, h).h[:, 0]


def jacobian(w: GRUWeights, xbar: np.ndarray, h: np.ndarray) -> np.ndarray:
    """∂F/∂h at each state, analytic: h (N, H) -> (N, H, H), row i = ∂F_i/∂h."""
    h = np.asarray(h, dtype=np.float64)
    s = one_step(w, xbar, h)
    r, z, n = s.r[:, 0], s.z[:, 0], s.n[:, 0]
    dz = (z * (1 - z))[..., None] * w.W_hz  # ∂z/∂h (N, H, H)
    dr = (r * (1 - r))[..., None] * w.W_hr
    if w.reset_after:  # a_n = … + r ⊙ g, g = W_hn h + b_hn
        g = h @ w.W_hn.T + w.b_hn
        da_n = r[..., None] * w.W_hn + g[..., None] * dr
    else:  # a_n = … + W_hn (r ⊙ h)
        da_n = np.einsum("ij,njk->nik", w.W_hn, h[..., None] * dr + _diag(r))
    dn = (1 - n * n)[..., None] * da_n
    return _diag(z) + (h - n)[..., None] * dz + (1 - z)[..., None] * dn


def _diag(v: np.ndarray) -> np.ndarray:
    """(N, H) -> (N, H, H) diagonal matrices."""
    return v[..., None] * np.eye(v.shape[-1])


def classify(eigenvalues: np.ndarray) -> str:
    """Stability of a fixed point of a map from its Jacobian's eigenvalues (|λ| against 1)."""
    mod = np.abs(eigenvalues)
    if (np.abs(mod - 1) <= MARGIN).any():
        return "marginal"  # a bifurcation point (e.g. k = 1 in the pitchfork)
    if (mod < 1).all():
        return "stable"
    return "unstable" if (mod > 1).all() else "saddle"


@dataclass(frozen=True)
class Point:
    """A fixed point (q = 0 up to rounding) or a slow point (q small) of F under x̄."""

    h: np.ndarray  # (H,)
    q: float  # ½‖F(h) − h‖²
    residual: float  # ‖F(h) − h‖∞
    eigenvalues: np.ndarray  # of ∂F/∂h, by decreasing modulus
    kind: str  # one of POINT_KINDS

    @property
    def slowest(self) -> float:
        """max |λ|: how close to 1 the slowest mode is."""
        return float(np.abs(self.eigenvalues[0]))


def search_cost(starts: int, hidden_size: int) -> tuple[float, float]:
    """(operations, bytes) of ``minimise_speed`` from this many starts: every iteration solves
    one H×H system per start (≈ 30·N·H³ over a typical search, measured) and holds about six
    (N, H, H) arrays."""
    return 30.0 * starts * hidden_size ** 3, 6 * 8.0 * starts * hidden_size ** 2


def affordable_starts(hidden_size: int, wanted: int, max_flops: float = budget.MAX_FLOPS,
                      max_bytes: float = budget.MAX_BYTES) -> int:
    """The most starts (≤ wanted) within the budget; 0 when not even one fits."""
    flops, nbytes = search_cost(1, hidden_size)
    return int(min(wanted, max_flops // flops, max_bytes // nbytes))


def minimise_speed(w: GRUWeights, xbar: np.ndarray, starts: np.ndarray,
                   iterations: int = 200, max_flops: float = budget.MAX_FLOPS) -> np.ndarray:
    """Minimise q(h) = ½‖F(h) − h‖² from each start (N, H) -> (N, H) (Sussillo & Barak 2013).

    Levenberg–Marquardt on G(h) = F(h) − h, every start at once: the step solves
    (JᵀJ + μI) δ = −Jᵀ G with J = ∂F/∂h − I, so Jᵀ G = ∇q. μ shrinks after each accepted step
    (becoming Newton's method near a fixed point, converging quadratically) and grows after a
    rejected one (becoming gradient descent on q, which also settles in slow points, q > 0).
    Steps stay in the box [−1, 1]^H that holds every reachable state: outside it, a saturated
    update gate (z → 1) makes q tiny far from any true fixed point.
    """
    N, H = np.shape(starts)
    largest = max(1, int(round((max_flops / 30.0) ** (1 / 3))))
    budget.check(f"A slow-point search from {N} start(s) in {H} units", *search_cost(N, H),
                 f"Use fewer starts, or a layer of at most about {largest} units.",
                 max_flops=max_flops)
    h = np.clip(np.array(starts, dtype=np.float64), -1, 1)
    eye = np.eye(H)
    mu = np.full(N, 1e-3)

    def evaluate(h):
        G = step_map(w, xbar, h) - h
        return G, jacobian(w, xbar, h) - eye, 0.5 * np.einsum("ni,ni->n", G, G)

    G, J, q = evaluate(h)
    wall = np.zeros(N, dtype=int)  # accepted steps in a row that ended on the box's wall
    for _ in range(iterations):
        idx = np.flatnonzero((q > 1e-32) & (mu < 1e12) & (wall < 8))
        if not idx.size:
            break
        Jt = J[idx].transpose(0, 2, 1)
        A = Jt @ J[idx] + mu[idx, None, None] * eye
        grad = np.einsum("nij,nj->ni", Jt, G[idx])
        trial = np.clip(h[idx] - np.linalg.solve(A, grad[..., None])[..., 0], -1, 1)
        G2, J2, q2 = evaluate(trial)
        ok = q2 < q[idx]
        mu[idx] = np.where(ok, np.maximum(mu[idx] * 0.1, 1e-15), mu[idx] * 10)
        acc = idx[ok]
        h[acc], G[acc], J[acc], q[acc] = trial[ok], G2[ok], J2[ok], q2[ok]
        # pressed against the wall again and again: no fixed point lies there, and sliding
        # along it can take forever
        wall[acc] = np.where(np.abs(trial[ok]).max(axis=1) >= 1, wall[acc] + 1, 0)
    return h


def _points(w: GRUWeights, xbar: np.ndarray, h: np.ndarray, q_max: float,
            merge: float) -> list[Point]:
    """Classify the candidates with q ≤ q_max, merging those closer than ``merge``."""
    G = step_map(w, xbar, h) - h
    q = 0.5 * np.einsum("ni,ni->n", G, G)
    keep = np.flatnonzero(q <= q_max)
    keep = keep[np.argsort(q[keep], kind="stable")]  # the best of each cluster first
    chosen: list[int] = []
    for i in keep:
        if all(np.max(np.abs(h[i] - h[j])) > merge for j in chosen):
            chosen.append(int(i))
    if not chosen:
        return []
    J = jacobian(w, xbar, h[chosen])
    out = []
    for i, Ji in zip(chosen, J):
        ev = np.linalg.eigvals(Ji)
        ev = ev[np.argsort(-np.abs(ev), kind="stable")]
        out.append(Point(h[i].copy(), float(q[i]), float(np.max(np.abs(G[i]))), ev, classify(ev)))
    return sorted(out, key=lambda p: tuple(np.round(p.h, 6) + 0.0))  # + 0.0: no −0


def grid_starts(hidden_size: int, per_axis: int = 9, extent: float = 1.0) -> np.ndarray:
    """A regular grid of starts over [−extent, extent]^H (small H only) -> (per_axis^H, H)."""
    axes = [np.linspace(-extent, extent, per_axis)] * hidden_size
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, hidden_size)


def fixed_points(w: GRUWeights, xbar: np.ndarray, starts: np.ndarray | None = None,
                 tol: float = 1e-10, merge: float = 1e-4) -> list[Point]:
    """Every fixed point the solver reaches from a grid (H ≤ 3) plus ``starts`` (N, H).

    A candidate counts when ‖F(h) − h‖∞ ≤ tol (every fixed point has h = n, so |h| ≤ 1: the
    solver stays in that box); candidates within ``merge`` (max-norm) are one.
    """
    H = w.hidden_size
    parts = [grid_starts(H, {1: 41, 2: 15, 3: 7}[H], 0.98)] if H <= 3 else []
    if starts is not None:
        parts.append(np.asarray(starts, dtype=np.float64).reshape(-1, H))
    if not parts:
        raise ValueError("Above 3 units a grid is too large: pass starts (e.g. visited states).")
    h = minimise_speed(w, xbar, np.concatenate(parts))
    G = step_map(w, xbar, h) - h
    h = h[np.max(np.abs(G), axis=1) <= tol]
    return _points(w, xbar, h, q_max=np.inf, merge=merge)


def slow_points(w: GRUWeights, xbar: np.ndarray, states: np.ndarray, count: int = 200,
                noise: float = 0.02, q_max: float = 1e-6, merge: float = 1e-2,
                seed: int = 0, iterations: int = 200) -> list[Point]:
    """Fixed and slow points from states sampled on real trajectories (N, H), jittered.

    Keeps minima with q ≤ q_max; a point with q ≈ 0 is a fixed point, a larger q a slow point
    (the state drifts by about √(2q) per step there).
    """
    states = np.asarray(states, dtype=np.float64).reshape(-1, w.hidden_size)
    count = max(1, affordable_starts(w.hidden_size, count))  # 0: minimise_speed says why
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(states), size=min(count, len(states)), replace=False)
    starts = states[pick] + noise * rng.standard_normal((len(pick), w.hidden_size))
    return _points(w, xbar, minimise_speed(w, xbar, starts, iterations), q_max=q_max,
                   merge=merge)


# --- looking at a plane of the state space -------------------------------------------------------

@dataclass(frozen=True)
class Plane:
    """A 2-D slice of state space: h = origin + a·basis[0] + b·basis[1] (orthonormal basis)."""

    origin: np.ndarray  # (H,)
    basis: np.ndarray  # (2, H)
    labels: tuple[str, str]

    def coords(self, h: np.ndarray) -> np.ndarray:
        """States (..., H) -> plane coordinates (..., 2)."""
        return (np.asarray(h) - self.origin) @ self.basis.T

    def states(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Coordinates (...) and (...) -> states (..., H)."""
        return self.origin + a[..., None] * self.basis[0] + b[..., None] * self.basis[1]


def unit_plane(hidden_size: int, i: int = 0, j: int = 1,
               rest: np.ndarray | None = None) -> Plane:
    """Units i and j as axes; the other units held at ``rest`` (zeros by default)."""
    origin = np.zeros(hidden_size) if rest is None else np.array(rest, dtype=np.float64)
    origin[[i, j]] = 0
    return Plane(origin, np.eye(hidden_size)[[i, j]], (f"unit {i}", f"unit {j}"))


def pca_plane(states: np.ndarray) -> tuple[Plane, np.ndarray]:
    """The top two principal components of states (N, H), and the share of variance of each."""
    states = np.asarray(states, dtype=np.float64).reshape(-1, np.shape(states)[-1])
    mean = states.mean(axis=0)
    _, s, Vt = np.linalg.svd(states - mean, full_matrices=False)
    var = s**2 / max(float((s**2).sum()), 1e-300)
    basis = np.zeros((2, states.shape[1]))
    basis[: len(Vt[:2])] = Vt[:2]
    return Plane(mean, basis, ("PC 1", "PC 2")), np.pad(var[:2], (0, 2 - len(var[:2])))


@dataclass(frozen=True)
class Field:
    """The one-step displacement F(h) − h on a grid of a plane; arrays (len(b), len(a))."""

    a: np.ndarray  # (Na,) first plane coordinate
    b: np.ndarray  # (Nb,)
    du: np.ndarray  # displacement along the plane's first axis; its zero line is a nullcline
    dv: np.ndarray  # along the second axis
    speed: np.ndarray  # ‖F(h) − h‖ in the full state space


def vector_field(w: GRUWeights, xbar: np.ndarray, plane: Plane, a: np.ndarray,
                 b: np.ndarray) -> Field:
    """F(h) − h at every grid point of the plane, projected onto it."""
    A, B = np.meshgrid(a, b)
    h = plane.states(A, B).reshape(-1, w.hidden_size)
    d = step_map(w, xbar, h) - h
    duv = plane.coords(plane.origin + d).reshape(*A.shape, 2)
    return Field(np.asarray(a), np.asarray(b), duv[..., 0], duv[..., 1],
                 np.linalg.norm(d, axis=1).reshape(A.shape))


# --- hand-set 2-unit models -----------------------------------------------------------------------

OPEN = 40.0  # a gate bias so large that σ rounds to exactly 1 in float64


def two_unit(W_hn: Sequence[Sequence[float]], b_n: Sequence[float] = (0.0, 0.0),
             b_z: float = 0.0, input_gain: float = 1.0) -> GRUWeights:
    """A 2-unit GRU (input size 2, reset after) with its reset gate held open (r = 1).

    The candidate is n = tanh(input_gain·x + W_hn h + b_n); input channel i drives unit i.
    The update gate is constant, z = σ(b_z): fixed points do not depend on it.
    """
    zero2, zero = np.zeros((2, 2)), np.zeros(2)
    return GRUWeights(W_ir=zero2, W_iz=zero2, W_in=input_gain * np.eye(2),
                      W_hr=zero2, W_hz=zero2, W_hn=np.array(W_hn, dtype=np.float64),
                      b_ir=np.full(2, OPEN), b_iz=np.full(2, float(b_z)),
                      b_in=np.array(b_n, dtype=np.float64), b_hr=zero, b_hz=zero, b_hn=zero)


def pitchfork(k: float) -> GRUWeights:
    """One unit, reset open, input weight 1, candidate recurrent weight k: fixed points solve
    tanh(k·h) = h (one for k ≤ 1, three for k > 1)."""
    one = np.ones((1, 1))
    return GRUWeights(W_ir=0 * one, W_iz=0 * one, W_in=one, W_hr=0 * one, W_hz=0 * one,
                      W_hn=k * one, b_ir=np.full(1, OPEN), b_iz=np.zeros(1), b_in=np.zeros(1),
                      b_hr=np.zeros(1), b_hz=np.zeros(1), b_hn=np.zeros(1))


def held(*segments: tuple[str, int]) -> str:
    """Typed input rows from (row, how many steps) segments: ``held(("2, 0", 2), ("0, 0", 6))``."""
    return "; ".join("; ".join([row] * n) for row, n in segments)


def segment_ends(*counts: int) -> tuple[int, ...]:
    """The last step of each segment of an input made of segments of these lengths."""
    return tuple(int(t) - 1 for t in np.cumsum(counts))


@dataclass(frozen=True)
class PlanePreset:
    """A hand-set 2-unit model, its example input, and what that example does.

    ``visits`` lists (step, signs): at that step of the example the state sits by the stable
    fixed point with these signs (unit 0, unit 1; 0 for a unit held at 0). Tests check every
    claim from the trajectory.
    """

    description: str
    W_hn: tuple[tuple[float, float], tuple[float, float]]
    b_n: tuple[float, float] = (0.0, 0.0)
    b_z: float = 0.0
    example: str = "1, 0; 0, 0; 0, 0; 0, 0; 0, 1; 0, 0; 0, 0; 0, 0"
    visits: tuple[tuple[int, tuple[int, int]], ...] = ()

    def weights(self) -> GRUWeights:
        return two_unit(self.W_hn, self.b_n, self.b_z)


# Pulses of ±2 lasting two steps flip a bit of the fast switches (z = ½); the slow update
# (z ≈ 0.88) needs eight steps of it, and longer holds to settle.
_FAST, _SLOW = (2, 6), (8, 20)  # (pulse steps, hold steps)


def _bits(pulse: int, hold: int, rows: tuple[str, ...]) -> str:
    return held(*[seg for row in rows for seg in ((row, pulse), ("0, 0", hold))])


_FLIPS = ("2, 2", "-2, 0", "0, -2", "2, 0")  # (+,+) → (−,+) → (−,−) → (+,−)
_CORNERS = ((1, 1), (-1, 1), (-1, -1), (1, -1))

PLANE_PRESETS: dict[str, PlanePreset] = {
    "single attractor": PlanePreset(
        "Weak self-excitation (0.5 < 1): every state flows to one stable point.",
        ((0.5, 0.0), (0.0, 0.5)), b_n=(0.3, -0.2),
        example=held(("1, 0", 1), ("0, 0", 3), ("0, 1", 1), ("0, 0", 19)),
        visits=((23, (1, -1)),)),
    "bistable switch": PlanePreset(
        "Unit 0 excites itself (2 > 1): two stable states (a 1-bit memory) and a saddle "
        "between them. A pulse of ±2 held for two steps flips the switch; the state then "
        "stays where it landed.",
        ((2.0, 0.0), (0.0, 0.5)), example=_bits(*_FAST, ("2, 0", "-2, 0", "2, 0")),
        visits=tuple(zip(segment_ends(*[sum(_FAST)] * 3), ((1, 0), (-1, 0), (1, 0))))),
    "four states (2 bits)": PlanePreset(
        "Both units excite themselves: four stable corners (two bits), four saddles and an "
        "unstable point in the middle. Each pulse of ±2 (two steps) flips one bit: the "
        "example visits all four corners.",
        ((2.0, 0.0), (0.0, 2.0)), example=_bits(*_FAST, _FLIPS),
        visits=tuple(zip(segment_ends(*[sum(_FAST)] * 4), _CORNERS))),
    "four states, slow update": PlanePreset(
        "The same weights with a slow update gate (each step writes only 12% of the "
        "candidate): the same fixed points, but every step moves only 12% of the way, so the "
        "eigenvalues move towards 1 and a pulse must last longer "
        "(eight steps here) to flip a bit. The example still visits all four corners.",
        ((2.0, 0.0), (0.0, 2.0)), b_z=2.0, example=_bits(*_SLOW, _FLIPS),
        visits=tuple(zip(segment_ends(*[sum(_SLOW)] * 4), _CORNERS))),
    "slow line": PlanePreset(
        "Coupled units with an eigenvalue near 1 along the diagonal: states slide slowly "
        "along a line, which stores a value rather than a bit.",
        ((0.5, 0.49), (0.49, 0.5)), b_z=1.0,
        example="1, 1; 0, 0; 0, 0; 0, 0; -0.5, -0.5; 0, 0; 0, 0; 0, 0"),
    "oscillation": PlanePreset(
        "Each unit drives the other, one exciting, one inhibiting: the fixed point is an "
        "unstable spiral and states circle around it, about 28° a step near it.",
        ((1.0, -2.0), (2.0, 1.0)), b_z=1.0, example="; ".join(["0.2, 0"] + ["0, 0"] * 39)),
}


# --- where the hand-set model's fixed points appear -----------------------------------------------

def _roots_along(f: np.ndarray) -> int:
    """Zeros of samples f (..., N) along a curve: sign changes between neighbours, plus exact
    zeros; NaN marks a gap (off the curve) that no change is counted across."""
    s = np.sign(f)
    a, b = s[..., :-1], s[..., 1:]
    change = (a * b < 0)
    return change.sum(-1) + (s == 0).sum(-1)


def _nullcline_1(W_hn: np.ndarray, c: np.ndarray, samples: int) -> np.ndarray:
    """Points (2, M) of unit 1's nullcline h1 = tanh(c1 + w10 h0 + w11 h1), in order along it;
    NaN columns separate pieces."""
    (_, _), (w10, w11) = W_hn
    u = np.linspace(-9, 9, samples)
    if w10 != 0:  # one curve, parametrised by h1 = tanh(u): h0 = (u − c1 − w11 h1) / w10
        h1 = np.tanh(u)
        # outside the box |h0| < 1 no fixed point lies; clipped there, tanh(…) − h0 keeps
        # its sign (|tanh| < 1), so no zero is invented and none by the wall is lost
        h0 = np.clip((u - c[1] - w11 * h1) / w10, -1, 1)
        return np.stack([h0, h1])
    # w10 = 0: unit 1 settles on its own; each of its fixed points is a horizontal line
    h1 = np.tanh(u)
    g = np.tanh(c[1] + w11 * h1) - h1
    idx = np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) <= 0)
    roots = []
    for i in idx:  # refine by the secant between the two samples
        a, b = g[i], g[i + 1]
        roots.append(h1[i] if a == b else h1[i] - a * (h1[i + 1] - h1[i]) / (b - a))
    h0 = np.tanh(u)
    pieces = [np.stack([h0, np.full_like(h0, r)]) for r in np.unique(np.round(roots, 9))]
    gap = np.full((2, 1), np.nan)
    return np.concatenate([x for p in pieces for x in (p, gap)], axis=1) if pieces else gap


def fixed_point_counts(W_hn, b_n, xbar, w00: np.ndarray, samples: int = 8001) -> np.ndarray:
    """How many fixed points the hand-set model (``two_unit``) has for each value of W_hn[0,0]
    in ``w00`` (K,), the other weights, biases and the constant input as given -> (K,) ints.

    A fixed point lies on both nullclines; unit 1's does not depend on W_hn[0,0], so the
    count is the number of zeros of tanh(c0 + w00 h0 + w01 h1) − h0 along it.
    """
    W = np.asarray(W_hn, dtype=np.float64)
    c = np.asarray(xbar, dtype=np.float64) + np.asarray(b_n, dtype=np.float64)
    h0, h1 = _nullcline_1(W, c, samples)
    w00 = np.asarray(w00, dtype=np.float64)[:, None]
    f = np.tanh(c[0] + w00 * h0 + W[0, 1] * h1) - h0  # (K, M); NaN in the gaps
    return _roots_along(f)


def count_changes(W_hn, b_n, xbar, lo: float = -3.0, hi: float = 3.0,
                  step: float = 0.01) -> list[tuple[float, int, int]]:
    """Where the number of fixed points changes as W_hn[0,0] goes from ``lo`` to ``hi``:
    (threshold, count below, count above), thresholds bisected to 1e-4."""
    grid = np.arange(lo, hi + step / 2, step)
    counts = fixed_point_counts(W_hn, b_n, xbar, grid)
    out = []
    for k in np.flatnonzero(counts[1:] != counts[:-1]):
        a, b = grid[k], grid[k + 1]
        for _ in range(7):
            m = (a + b) / 2
            if fixed_point_counts(W_hn, b_n, xbar, np.array([m]))[0] == counts[k]:
                a = m
            else:
                b = m
        out.append((round((a + b) / 2, 4), int(counts[k]), int(counts[k + 1])))
    return out
