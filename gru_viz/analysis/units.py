"""What researchers ask of a recorded run: which units do what.

Unit orderings, saturation (Karpathy et al. 2015), unit search (LSTMVis), expected response
(RNNVis), differences of two runs aligned where their inputs align, correlation with a known
signal; and corpus versions that run many sequences in batches and accumulate the same numbers.
Pure NumPy: ``values`` is (T, H) for one sequence, one layer and direction, one field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from gru_viz.core import budget
from gru_viz.core.engine import run
from gru_viz.core.limits import Limits
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import PYTORCH, Notation
from gru_viz.core.trace import Trace

ORDERINGS = {"index": "unit index", "mean": "mean activity (high first)",
             "variance": "variance (high first)", "cluster": "clustering of their traces"}
GATES = ("z", "r")  # the fields in [0, 1] whose saturation is measured
RANGES = {"z": (0.0, 1.0), "r": (0.0, 1.0), "n": (-1.0, 1.0), "h": (-1.0, 1.0)}
Progress = Callable[[int, int], None]  # (sequences done, total)


def shown(notation: Notation, field: str, values: np.ndarray) -> np.ndarray:
    """A field's values as ``notation`` defines them (course: Γu = 1 − z)."""
    return notation.values(field, values)


# --- unit orderings --------------------------------------------------------------------------

def unit_order(values: np.ndarray, how: str) -> np.ndarray:
    """A permutation of the H units of ``values`` (T, H), by one of ``ORDERINGS``."""
    if how == "index":
        return np.arange(values.shape[-1])
    if how == "mean":
        return np.argsort(-values.mean(0), kind="stable")
    if how == "variance":
        return np.argsort(-values.var(0), kind="stable")
    if how == "cluster":
        return cluster_order(values)
    raise ValueError(f"Unknown ordering {how!r}; one of {list(ORDERINGS)}.")


def correlation(values: np.ndarray) -> np.ndarray:
    """(H, H) Pearson correlation of the unit traces; a constant unit correlates 0 with all."""
    c = values - values.mean(0)
    norm = np.sqrt((c * c).sum(0))
    c = c / np.where(norm > 0, norm, 1)
    corr = c.T @ c
    np.fill_diagonal(corr, 1.0)
    return corr


def cluster_order(values: np.ndarray) -> np.ndarray:
    """Leaf order of average-linkage (UPGMA) clustering on the distance 1 − correlation.

    Units that move together end up next to each other. O(H³) in NumPy: a few ms at H = 256.
    """
    H = values.shape[-1]
    D = 1.0 - correlation(values)
    np.fill_diagonal(D, np.inf)
    members = [[u] for u in range(H)]
    size = np.ones(H)
    for _ in range(H - 1):
        i, j = sorted(np.unravel_index(np.argmin(D), D.shape))
        # Lance–Williams update for average linkage: size-weighted mean of the two rows
        merged = (size[i] * D[i] + size[j] * D[j]) / (size[i] + size[j])
        D[i], D[:, i] = merged, merged
        D[i, i] = np.inf
        D[j], D[:, j] = np.inf, np.inf
        members[i] += members[j]
        size[i] += size[j]
    return np.array(members[int(np.argmax(size))])


# --- saturation and histograms ---------------------------------------------------------------

@dataclass(frozen=True)
class SaturationCounts:
    """Per unit: steps below ``left`` and above ``right``, out of ``steps`` counted."""

    below: np.ndarray  # (H,)
    above: np.ndarray  # (H,)
    steps: int

    @property
    def left(self) -> np.ndarray:
        return self.below / max(self.steps, 1)

    @property
    def right(self) -> np.ndarray:
        return self.above / max(self.steps, 1)

    def __add__(self, other: SaturationCounts) -> SaturationCounts:
        return SaturationCounts(self.below + other.below, self.above + other.above,
                                self.steps + other.steps)


def saturation(values: np.ndarray, left: float = 0.1, right: float = 0.9,
               mask: np.ndarray | None = None) -> SaturationCounts:
    """Counts of left- (< left) and right-saturated (> right) steps of ``values`` (..., T, H);
    ``mask`` (..., T) marks the steps that count (padding excluded)."""
    flat = values.reshape(-1, values.shape[-1])
    if mask is not None:
        flat = flat[mask.reshape(-1)]
    return SaturationCounts((flat < left).sum(0), (flat > right).sum(0), flat.shape[0])


def histograms(values: np.ndarray, lo: float, hi: float, bins: int = 20,
               mask: np.ndarray | None = None) -> np.ndarray:
    """(H, bins) counts of each unit's values over [lo, hi] (values outside go to the ends)."""
    flat = values.reshape(-1, values.shape[-1])
    if mask is not None:
        flat = flat[mask.reshape(-1)]
    H = flat.shape[1]
    idx = np.clip(np.floor((flat - lo) / (hi - lo) * bins), 0, bins - 1)
    idx = np.nan_to_num(idx, nan=0).astype(np.int64) + np.arange(H) * bins
    return np.bincount(idx.ravel(), minlength=H * bins).reshape(H, bins)


# --- unit search (LSTMVis) -------------------------------------------------------------------

def percentile_thresholds(values: np.ndarray, percentile: float) -> np.ndarray:
    """(H,) per-unit thresholds: each unit's own ``percentile`` over the sequence."""
    return np.percentile(values, percentile, axis=0)


def search_units(values: np.ndarray, start: int, stop: int, threshold: float | np.ndarray,
                 below_outside: int = 0) -> np.ndarray:
    """Units whose value stays ≥ threshold over steps [start, stop); with ``below_outside`` = k,
    also below it on the k steps just before and just after the span (where they exist)."""
    T = values.shape[0]
    if not 0 <= start < stop <= T:
        raise ValueError(f"Span [{start}, {stop}) is not inside 0..{T}.")
    on = values >= threshold
    keep = on[start:stop].all(0)
    if below_outside:
        around = np.r_[max(0, start - below_outside):start, stop:min(T, stop + below_outside)]
        keep &= ~on[around].any(0)
    return np.flatnonzero(keep)


def co_activation_spans(values: np.ndarray, units: Sequence[int],
                        threshold: float | np.ndarray, min_length: int = 1
                        ) -> list[tuple[int, int]]:
    """Spans [start, stop) where all ``units`` are ≥ threshold together, at least
    ``min_length`` steps long: the other places where the found units switch on."""
    units = np.asarray(units, dtype=np.int64)
    if units.size == 0:
        return []
    thr = np.broadcast_to(threshold, values.shape[-1:])[units]
    together = (values[:, units] >= thr).all(1)
    edges = np.diff(np.r_[0, together.astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b - a >= min_length]


# --- expected response (RNNVis) --------------------------------------------------------------

@dataclass(frozen=True)
class Response:
    """Sums of h_t − h_{t−1} per symbol (V, H) and the symbol counts (V,)."""

    sums: np.ndarray
    counts: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        """(H, V): each unit's mean change of state per occurrence of each symbol (0 if none)."""
        return (self.sums / np.maximum(self.counts, 1)[:, None]).T

    def __add__(self, other: Response) -> Response:
        return Response(self.sums + other.sums, self.counts + other.counts)


def expected_response(h: np.ndarray, h_prev: np.ndarray, ids: np.ndarray, vocab_size: int,
                      mask: np.ndarray | None = None) -> Response:
    """Change of state per symbol: h, h_prev (..., T, H), ids (..., T), mask (..., T)."""
    dh = (h - h_prev).reshape(-1, h.shape[-1])
    ids = np.asarray(ids).reshape(-1)
    if mask is not None:
        keep = mask.reshape(-1)
        dh, ids = dh[keep], ids[keep]
    onehot = np.zeros((ids.size, vocab_size), dh.dtype)
    onehot[np.arange(ids.size), ids] = 1
    return Response(onehot.T @ dh, np.bincount(ids, minlength=vocab_size))


# --- comparing two inputs --------------------------------------------------------------------

@dataclass(frozen=True)
class Alignment:
    """Positions a[i] of input A and b[i] of input B that correspond; ``edited`` where the
    tokens differ (a replacement of the same length)."""

    a: np.ndarray
    b: np.ndarray
    edited: np.ndarray


def align(tokens_a: Sequence[Hashable], tokens_b: Sequence[Hashable]) -> Alignment:
    """Pair the steps of two inputs by difflib's matching blocks; equal-length replacements are
    paired too (an edited token), insertions and deletions are left out.

    difflib prefers long matches, so one edited token can come out as a deletion plus an
    insertion; for inputs of equal length, pairing by position wins when it pairs more steps
    and keeps at least as many equal tokens.
    """
    cells = len(tokens_a) * len(tokens_b)  # difflib's worst case: 20,000 steps each took 34 s
    budget.check(f"Aligning {len(tokens_a)} with {len(tokens_b)} steps", 100.0 * cells, 0,
                 "Compare shorter inputs (a window of each).")
    pairs: list[tuple[int, int, bool]] = []
    matcher = difflib.SequenceMatcher(None, list(tokens_a), list(tokens_b), autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
            pairs += [(i, j, op == "replace") for i, j in zip(range(a0, a1), range(b0, b1))]
    if len(tokens_a) == len(tokens_b):
        by_position = [(i, i, x != y) for i, (x, y) in enumerate(zip(tokens_a, tokens_b))]
        same = sum(not e for *_, e in by_position)
        if len(by_position) > len(pairs) and same >= sum(not e for *_, e in pairs):
            pairs = by_position
    a, b, edited = (np.array(c, dtype=t) for c, t in
                    zip(zip(*pairs) if pairs else ((), (), ()), (np.int64, np.int64, bool)))
    return Alignment(a, b, edited)


def aligned_difference(values_a: np.ndarray, values_b: np.ndarray, al: Alignment) -> np.ndarray:
    """(N, H): B minus A at the aligned steps."""
    return values_b[al.b] - values_a[al.a]


# --- correlation with a known signal ---------------------------------------------------------

def correlate(values: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """(H,) Pearson correlation of each unit's trace with ``signal`` (T,); 0 where either is
    constant."""
    v = values - values.mean(0)
    s = np.asarray(signal, dtype=np.float64) - np.mean(signal)
    den = np.sqrt((v * v).sum(0) * (s @ s))
    return np.where(den > 0, (s @ v) / np.where(den > 0, den, 1), 0.0)


def nesting_depth(tokens: Sequence[str], opening: str = "([{<", closing: str = ")]}>"
                  ) -> np.ndarray:
    """(T,) bracket depth after each token (the true signal for a bracket-counting model)."""
    steps = [1 if t in opening else -1 if t in closing else 0 for t in tokens]
    return np.cumsum(steps, dtype=np.int64)


# --- predictions -----------------------------------------------------------------------------

def linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A linear head on states x (..., D·H): ``x @ weight.T + bias``, weight (V, D·H)."""
    out = np.asarray(x) @ np.asarray(weight).T
    return out if bias is None else out + np.asarray(bias)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def top_k(probs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely ids and their probabilities at each step: both (T, k), best first."""
    k = min(k, probs.shape[-1])
    ids = np.argsort(-probs, axis=-1, kind="stable")[..., :k]
    return ids, np.take_along_axis(probs, ids, -1)


# --- corpora ---------------------------------------------------------------------------------

def batches(lengths: Sequence[int], max_batch: int = 64, exact: bool = False,
            max_pad: float = 1.25) -> list[np.ndarray]:
    """Groups of sequence indices to run together, of similar lengths: within a group the
    longest is at most ``max_pad`` × the shortest, or all equal when ``exact``."""
    lengths = np.asarray(lengths)
    groups: list[list[int]] = []
    for i in np.argsort(lengths, kind="stable"):
        g = groups[-1] if groups else None
        fits = g is not None and len(g) < max_batch and (
            lengths[i] == lengths[g[0]] if exact else lengths[i] <= max_pad * max(lengths[g[0]], 1))
        if fits:
            g.append(int(i))
        else:
            groups.append([int(i)])
    return [np.array(g) for g in groups]


@dataclass(frozen=True)
class Batch:
    """One batched run: ``trace`` arrays are (B, T, ...); ``mask`` (B, T) marks real steps;
    row b holds steps ``starts[b]`` on of sequence ``indices[b]``."""

    indices: np.ndarray
    mask: np.ndarray
    trace: Trace
    starts: np.ndarray


def run_corpus(model: GRUModel, xs: Sequence[np.ndarray], progress: Progress | None = None,
               max_batch: int = 64, dtype: type = np.float32,
               limits: Limits | None = None) -> Iterator[Batch]:
    """Run every sequence xs[i] (T_i, I), in batches of similar length padded at the end.

    End padding never changes a forward state before it, but a reverse direction would read
    it first: bidirectional models are batched by equal length only. A sequence longer than
    ``limits.max_steps`` runs in segments of that many steps, each from the state the one
    before ended in: the numbers of one whole run, as a forward GRU carries nothing else
    (a bidirectional model's reverse direction would need the steps after: refused).
    """
    lengths = [len(x) for x in xs]
    seg = max(lengths, default=1)
    if limits is not None and not model.bidirectional:
        seg = min(seg, limits.max_steps)
    seg = max(seg, 1)
    rounds = -(-max(lengths, default=0) // seg)
    total = sum(-(-n // seg) for n in lengths)
    carry = np.zeros((model.num_layers, len(xs), model.hidden_size), dtype)
    done = 0
    for r in range(rounds):
        live = [i for i, n in enumerate(lengths) if n > r * seg]
        part = [min(lengths[i] - r * seg, seg) for i in live]
        for group in batches(part, max_batch, exact=model.bidirectional):
            idx = np.array([live[g] for g in group], np.int64)
            n = [part[g] for g in group]
            x = np.zeros((len(idx), max(n), model.input_size), dtype)
            mask = np.zeros((len(idx), max(n)), bool)
            for row, (i, m) in enumerate(zip(idx, n)):
                x[row, :m] = xs[i][r * seg:r * seg + m]
                mask[row, :m] = True
            trace = run(model, x, carry[:, idx] if r else None, dtype=dtype, limits=limits)
            if r + 1 < rounds:  # each row's last real state starts its next segment
                last = np.array(n) - 1
                rows = np.arange(len(idx))
                carry[:, idx] = [layer[0].h[rows, last] for layer in trace.layers]
            yield Batch(idx, mask, trace, np.full(len(idx), r * seg))
            done += len(idx)
            if progress:
                progress(done, total)


@dataclass(frozen=True)
class CellStats:
    """Corpus statistics of one layer and direction."""

    saturation: dict[str, SaturationCounts]  # gate -> counts (values as the caller defined)
    histograms: dict[str, np.ndarray]  # field -> (H, bins)
    response: Response | None  # None without token ids


def corpus_stats(model: GRUModel, xs: Sequence[np.ndarray], ids: Sequence[np.ndarray] | None,
                 vocab_size: int | None, notation: Notation = PYTORCH,
                 left: float = 0.1, right: float = 0.9, bins: int = 20,
                 progress: Progress | None = None, limits: Limits | None = None
                 ) -> dict[tuple[int, int], CellStats]:
    """Saturation counts, histograms and expected response of every (layer, direction) over a
    corpus, on the values as ``notation`` defines them (course: Γu = 1 − z); ``ids`` (one
    (T_i,) array per sequence) enable the expected response."""
    stats: dict[tuple[int, int], CellStats] = {}
    for batch in run_corpus(model, xs, progress, limits=limits):
        for k, layer in enumerate(batch.trace.layers):
            for d, cell in enumerate(layer):
                sat = {g: saturation(shown(notation, g, getattr(cell, g)), left, right, batch.mask)
                       for g in GATES}
                hist = {f: histograms(shown(notation, f, getattr(cell, f)), *RANGES[f], bins,
                                      batch.mask) for f in RANGES}
                resp = None
                if ids is not None and vocab_size:
                    tok = np.zeros(batch.mask.shape, np.int64)
                    for row, (i, a) in enumerate(zip(batch.indices, batch.starts)):
                        seq = ids[i][a:a + tok.shape[1]]
                        tok[row, :len(seq)] = seq
                    resp = expected_response(cell.h, cell.h_prev, tok, vocab_size, batch.mask)
                old = stats.get((k, d))
                if old is not None:
                    sat = {g: old.saturation[g] + sat[g] for g in GATES}
                    hist = {f: old.histograms[f] + hist[f] for f in RANGES}
                    resp = old.response + resp if resp is not None else None
                stats[(k, d)] = CellStats(sat, hist, resp)
    return stats


@dataclass(frozen=True)
class Match:
    """Where the searched units switch on together in corpus sequence ``seq``."""

    seq: int
    start: int
    stop: int


def corpus_matches(model: GRUModel, xs: Sequence[np.ndarray], layer: int, direction: int,
                   field: str, units: Sequence[int], threshold: float | np.ndarray,
                   notation: Notation = PYTORCH, min_length: int = 1,
                   progress: Progress | None = None, sign: float = 1.0,
                   limits: Limits | None = None) -> list[Match]:
    """Every span in the corpus where all ``units`` are ≥ threshold together, longest first;
    ``sign`` = −1 compares −value instead (a search for low values)."""
    # each sequence's units gathered segment by segment first: a span may cross segments
    parts: dict[int, list[np.ndarray]] = {}
    for batch in run_corpus(model, xs, progress, limits=limits):
        values = sign * shown(notation, field, getattr(batch.trace.layers[layer][direction],
                                                       field))
        for row, i in enumerate(batch.indices):
            T = int(batch.mask[row].sum())
            parts.setdefault(int(i), []).append(values[row, :T][:, units])
    thr = np.broadcast_to(threshold, (model.hidden_size,))[list(units)]
    found = [Match(i, a, b) for i, p in parts.items()
             for a, b in co_activation_spans(np.concatenate(p), range(len(units)), thr,
                                             min_length)]
    return sorted(found, key=lambda m: (m.start - m.stop, m.seq, m.start))
