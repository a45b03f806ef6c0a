"""Accumulating a chunk's records into the statistics: running sums and histograms on the
device, the top-k index in NumPy."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from gru_viz.analysis.corpus.engine import ChunkEngine
from gru_viz.analysis.corpus.index import SIGNS, empty_top, merge_top, top_dict
from gru_viz.analysis.corpus.options import Options
from gru_viz.analysis.corpus.stats import FIELDS, GATES, RANGES
from gru_viz.analysis.corpus.subject import Subject, cell_prefix

BLOCK = 64  # rows per block when looking for the top-k index's candidates
SPAN = 4096  # rows per pass of the per-field statistics on CPU


class Accumulator:
    """Running sums on the device (torch) and top-k lists (NumPy), for every cell."""

    def __init__(self, subject: Subject, opts: Options, engine: ChunkEngine) -> None:
        torch = engine.torch
        self.torch, self.opts, self.dev = torch, opts, engine.device
        m = subject.model
        H, V = m.hidden_size, subject.symbols
        self.H, self.V, self.L = H, V, m.num_layers
        self.cells = [cell_prefix(k, d == 1) for k in range(m.num_layers)
                      for d in range(m.num_directions)]
        self.np_dtype = np.dtype(opts.dtype)
        self.context = opts.context if subject.kind == "ids" else None
        f64, i64 = torch.float64, torch.int64
        z = {}
        for p in self.cells:
            for f in FIELDS:
                z[f"{p}.{f}.sum"] = (H, f64)
                z[f"{p}.{f}.sumsq"] = (H, f64)
                z[f"{p}.{f}.hist"] = (H * opts.bins, i64)
            for g in GATES:
                z[f"{p}.{g}.below"] = (H, i64)
                z[f"{p}.{g}.above"] = (H, i64)
            if V:
                z[f"{p}.dh.sum"] = ((V, H), f64)
        z["tokens"] = ((), i64)
        if V:
            z["symbol.count"] = (V, i64)
        if engine.head_w is not None:
            z |= {"loss.sum": (V, f64), "loss.count": (V, i64), "loss.correct": (V, i64)}
        self.acc = {n: torch.zeros(s, dtype=d, device=self.dev) for n, (s, d) in z.items()}
        self.top = {f"{p}.{f}.{s}": empty_top(H, opts.top_k, self.np_dtype, None)
                    for p in self.cells for f in FIELDS for s in SIGNS} if opts.top_k else {}
        self.offsets2 = (torch.arange(H, device=self.dev) * opts.bins ** 2).to(torch.int32)
        self.scratch = engine.scratch
        # rows per pass of the per-field statistics: on CPU, spans whose ~10 passes each
        # stay in the cache; on a GPU, whole chunks (fewer launches) up to 2²⁴ rows
        self.span = SPAN if self.dev.type == "cpu" else 2**24

    def load(self, arrays: Mapping[str, np.ndarray]) -> None:
        for n in self.acc:
            a = arrays[n]
            self.acc[n] = self.torch.from_numpy(np.array(a.reshape(-1) if n.endswith(".hist")
                                                         else a)).to(self.dev)
        for p in self.top:
            self.top[p] = {n: np.array(v) for n, v in top_dict(arrays, p).items()
                           if n != "context"}

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for n, t in self.acc.items():
            a = t.cpu().numpy()
            out[n] = a.reshape(self.H, self.opts.bins) if n.endswith(".hist") else a
        for p, d in self.top.items():
            out |= {f"{p}.{n}": v for n, v in d.items()}
        return out

    def add(self, layers, ids, rows, doc, off, loss_rows, logits_fn) -> None:
        """One chunk: ``layers`` from ChunkEngine.run; ``rows`` (N,) the counted flat rows, with
        their document ``doc`` and ``offset`` (N,) NumPy; ``ids`` (T·B,) tensor or None;
        ``loss_rows`` the flat rows whose next-symbol loss counts."""
        torch, acc = self.torch, self.acc
        n = len(rows)
        if n == 0:
            return
        full = n == layers[0]["h"].shape[0]
        sel = None if full else torch.from_numpy(rows).to(self.dev)
        acc["tokens"] += n
        key = torch.from_numpy(doc * 2**32 + off).to(self.dev) if self.top else None
        tok = None
        if ids is not None:
            tok = ids if full else ids[sel]
            acc["symbol.count"] += torch.bincount(tok, minlength=self.V)
        for p, rec in zip(self.cells, layers):
            vals = {f: rec[f] if full else rec[f][sel] for f in (*FIELDS, "h_prev")}
            nan, ext = self._add_cell(p, vals, tok)
            for f in FIELDS if self.top else ():
                self._index(f"{p}.{f}", vals[f], doc, off, key, nan[f], ext[f])
        if "loss.sum" in acc and len(loss_rows):
            self._add_loss(layers[-1]["h_prev"], ids, loss_rows, logits_fn)

    def _add_cell(self, p: str, vals, tok):
        """One cell's sums, counts, histograms and Δh per symbol, ``span`` rows at a time,
        with the index's block extremes while the span is in the cache; -> which fields hold
        a NaN, and the extremes ({field: (top, bottom)}, None without an index)."""
        torch, H = self.torch, self.H
        v0 = vals["h"]
        nan = dict.fromkeys(FIELDS, False)
        dh = None if tok is None else self.scratch.get("dh", (self.V, H), v0.dtype).zero_()
        ext = {f: self._extremes_out(f, len(v0), v0.dtype) for f in FIELDS} if self.top else None
        for a in range(0, len(v0), self.span):  # spans start at blocks (SPAN % BLOCK == 0)
            part = {f: v[a:a + self.span] for f, v in vals.items()}
            buf = self.scratch.get("f", (len(part["h"]), H), v0.dtype)
            for f in self._add_span(p, part, buf, ext and {
                    f: [e[a // BLOCK:] for e in pair] for f, pair in ext.items()}):
                nan[f] = True
            if dh is not None:
                dh.index_add_(0, tok[a:a + self.span], torch.sub(part["h"], part["h_prev"],
                                                                 out=buf))
        if dh is not None:
            self.acc[f"{p}.dh.sum"] += dh.double()
        return nan, ext

    def _add_span(self, p: str, vals, buf, ext) -> list[str]:
        """The sums, saturation counts and histograms of rows ``vals`` (n, H) of one cell,
        and the index's block extremes into ``ext`` (when not None); ``buf`` (n, H) their
        scratch; -> the fields that hold a NaN."""
        torch, o, acc = self.torch, self.opts, self.acc
        ibuf = [self.scratch.get(("bins", k), buf.shape, torch.int32) for k in (0, 1)]
        bins, nan = {}, []
        for i, f in enumerate(FIELDS):
            v = vals[f]
            # float64 sums of each span's (float32: pairwise float32 sums, 1e-7 relative)
            total = v.sum(0)
            acc[f"{p}.{f}.sum"] += total.double()
            acc[f"{p}.{f}.sumsq"] += torch.mul(v, v, out=buf).sum(0).double()
            if not bool(torch.isfinite(total).all()):
                nan.append(f)
            bins[f] = self._bins(v, f, f in nan, buf, ibuf[i % 2])
            if ext is not None:
                self._extremes(v, f in nan, ext[f])
            if f in GATES:
                acc[f"{p}.{f}.below"] += self._count(v, o.left, -1.0, buf)
                acc[f"{p}.{f}.above"] += self._count(v, o.right, 1.0, buf)
            if f in ("r", "h"):  # one count per pair: joint bins, then marginals
                a, b = FIELDS[i - 1], f
                joint = torch.bincount(bins[b].add_(bins[a], alpha=o.bins)
                                       .add_(self.offsets2).reshape(-1),
                                       minlength=self.H * o.bins ** 2)
                joint = joint.reshape(self.H, o.bins, o.bins)
                acc[f"{p}.{a}.hist"] += joint.sum(2).reshape(-1)
                acc[f"{p}.{b}.hist"] += joint.sum(1).reshape(-1)
        return nan

    def _add_loss(self, h_prev, ids, loss_rows: np.ndarray, logits_fn) -> None:
        """Next-symbol loss and accuracy at flat rows ``loss_rows``: the state before each
        step scores that step's symbol."""
        torch, acc = self.torch, self.acc
        if len(loss_rows) < len(ids):
            lr = torch.from_numpy(loss_rows).to(self.dev)
            h_prev, ids = h_prev.index_select(0, lr), ids.index_select(0, lr)
        scores = logits_fn(h_prev)  # (V, n): reductions over dim 0 are the fast ones
        top = scores.amax(0)
        mine = torch.take(scores, ids * scores.shape[1] + torch.arange(len(ids),
                                                                       device=self.dev))
        # log-sum-exp as torch.logsumexp computes it, its max kept for the accuracy
        nll = scores.sub_(top).exp_().sum(0).log_().add_(top).sub_(mine)
        acc["loss.sum"] += torch.zeros(self.V, dtype=nll.dtype, device=self.dev
                                       ).index_add_(0, ids, nll).double()
        acc["loss.count"] += torch.bincount(ids, minlength=self.V)
        right = ids[mine >= top]  # the top score (an exact tie counts)
        acc["loss.correct"] += torch.bincount(right, minlength=self.V)

    def _count(self, v, edge: float, sign: float, buf):
        """(H,) counts of v < edge (sign −1) or v > edge (sign 1) (NaN on neither side): the
        comparison written as 0/1 into the float buffer and summed there (exact: spans are
        under 2²⁴ rows), about twice as fast as summing a boolean mask."""
        torch = self.torch
        cmp = torch.lt if sign < 0 else torch.gt
        return cmp(v, edge, out=buf).sum(0).to(torch.int64)

    def _bins(self, v, f: str, nan: bool, buf, out):
        """(N, H) int32 bins in ``out``: b = floor((v − lo) / (hi − lo) · bins), clamped to the
        end bins (ranges are powers of two wide, so the scaling is one exact multiplication)."""
        bins, torch = self.opts.bins, self.torch
        lo, hi = RANGES[f]
        x = (torch.mul(v, bins / (hi - lo), out=buf) if lo == 0
             else torch.sub(v, lo, out=buf).mul_(bins / (hi - lo)))
        if nan:
            x.nan_to_num_(nan=0.0)
        return out.copy_(x.clamp_(0, bins - 1))  # clamped first: trunc = floor

    def _extremes_out(self, f: str, n: int, dtype):
        """Reused (blocks, H) buffers for field f's block extremes of n rows, top and bottom."""
        nb = -(-n // BLOCK)
        return [self.scratch.get(("ext", f, s), (nb, self.H), dtype) for s in SIGNS]

    def _extremes(self, v, nan: bool, out) -> None:
        """Each BLOCK rows' signed extremes of v (n, H) into ``out`` (top, bottom), each
        (blocks, H): the highest value, and the lowest negated; NaN never (−inf)."""
        torch, nb = self.torch, -(-len(v) // BLOCK)
        for o, s in zip(out, SIGNS.values()):
            w = torch.nan_to_num(v, nan=-s * math.inf) if nan else v
            _per_block(torch.amax if s > 0 else torch.amin, w, o[:nb])
            if s < 0:
                o[:nb].neg_()

    def _index(self, p: str, v, doc: np.ndarray, off: np.ndarray, key=None,
               nan: bool = False, ext=None) -> None:
        """Both lists (top and bottom) of field ``p`` (e.g. "l0.h") for this chunk's values v
        (N, H) at (document ``doc``, offset ``off``) (N,); ``key`` (N,) is document · 2³² +
        offset; with ``nan``, NaN values never enter; ``ext`` the block extremes from
        ``_extremes`` (computed here when None)."""
        torch = self.torch
        if key is None:
            key = torch.from_numpy(doc * 2**32 + off).to(self.dev)
        if ext is None:
            ext = self._extremes_out(p, len(v), v.dtype)
            self._extremes(v, nan, ext)
        # each block's first position
        block_key = _per_block(torch.amin, key, key.new_empty(len(ext[0])))
        for (name, s), e in zip(SIGNS.items(), ext):
            self._top(f"{p}.{name}", v, nan, s, e, key, block_key, doc, off)

    def _top(self, p: str, v, nan: bool, sign: float, ext, key, block_key, doc: np.ndarray,
             off: np.ndarray) -> None:
        """Merge this chunk's rows that can enter each unit's k best into the running list.
        ``v``: the values (N, H), ``nan`` whether some are NaN (compared as −inf); ``ext``
        (blocks, H): each block's signed extreme; ``block_key`` (blocks,): each block's first
        position.

        A unit's threshold is its running k-th best, raised while a list is not full to the
        k-th best of its blocks' extremes (k blocks reach that, so the chunk's k best do
        too; once full, the k-th rarely falls short of it). Rows beyond the threshold are
        candidates, and rows equal to it that come before the running k-th by (document,
        offset) (all of them when the chunk raised it); only blocks that can hold one are
        compared, never the whole chunk. The k best by (value, document, offset) are merged,
        so any split of the corpus gives the same list."""
        torch = self.torch
        cur, k = self.top[p], self.opts.top_k
        N, H = v.shape
        kth = torch.from_numpy(cur["value"][:, -1]).to(self.dev, v.dtype)  # −inf: not full
        t = kth
        if len(ext) >= k and not np.isfinite(cur["value"][:, -1]).all():  # not full yet
            t = torch.maximum(kth, torch.topk(ext, k, dim=0)[0][-1])
        lim = torch.from_numpy(cur["doc"][:, -1] * 2**32 + cur["offset"][:, -1]).to(self.dev)
        lim = torch.where(t > kth, torch.iinfo(torch.int64).max, lim)  # ties before this key
        reach = (ext > t).logical_or_((ext == t).logical_and_(block_key[:, None] < lim))
        blk, unit = reach.nonzero().T
        if not len(blk):
            return
        rows = blk[:, None] * BLOCK + torch.arange(BLOCK, device=self.dev)  # (P, BLOCK)
        inside = rows < N  # the last block may be short
        rows.clamp_(max=N - 1)
        sub, ts = v[rows, unit[:, None]].mul_(sign), t[unit][:, None]
        if nan:  # NaN never enters (nan_to_num's infinities as _extremes saw them)
            sub.nan_to_num_(nan=-math.inf)
        hit = (sub > ts).logical_or_((sub == ts).logical_and_(
            torch.take(key, rows) < lim[unit][:, None])).logical_and_(inside)
        pair, j = hit.nonzero().T
        if len(pair):
            self._merge_top(cur, v, rows[pair, j], unit[pair], sub[pair, j], doc, off)

    def _merge_top(self, cur: dict[str, np.ndarray], v, r, u, val, doc: np.ndarray,
                   off: np.ndarray) -> None:
        """Merge candidates (rows ``r``, units ``u``, signed values ``val``) into ``cur``."""
        k, H = self.opts.top_k, v.shape[1]
        val = val.cpu().numpy().astype(np.float64)
        r_n, u_n = r.cpu().numpy(), u.cpu().numpy()
        order = np.lexsort((off[r_n], doc[r_n], -val, u_n))
        u_s = u_n[order]
        first = np.searchsorted(u_s, u_s)  # where each unit's run starts
        keep = order[np.arange(len(order)) - first < k]
        u_k = u_n[keep]
        slot = np.arange(len(keep)) - np.searchsorted(u_k, u_k)
        units, u_k = np.unique(u_k, return_inverse=True)  # merge only the units with news
        m = int(slot.max()) + 1  # as wide as the most news of a unit (often 1 or 2, not k)
        new = empty_top(len(units), m, self.np_dtype, None)
        new["rows"] = np.zeros((len(units), m, H), self.np_dtype)
        new["value"][u_k, slot] = val[keep]
        new["doc"][u_k, slot] = doc[r_n[keep]]
        new["offset"][u_k, slot] = off[r_n[keep]]
        new["rows"][u_k, slot] = v.index_select(
            0, self.torch.from_numpy(r_n[keep]).to(self.dev)).cpu().numpy()
        merged = merge_top({n: a[units] for n, a in cur.items()}, new, k)
        for n, a in merged.items():
            cur[n][units] = a


def _per_block(fn, x, out):
    """``fn`` (torch.amax, amin) of each BLOCK rows of x (N, ...), the last block maybe
    shorter, into ``out`` (blocks, ...)."""
    nb = len(x) // BLOCK
    if nb:
        fn(x[:nb * BLOCK].unflatten(0, (nb, BLOCK)), 1, out=out[:nb])
    if nb * BLOCK < len(x):
        fn(x[nb * BLOCK:], 0, out=out[nb])
    return out
