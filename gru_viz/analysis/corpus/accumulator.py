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

BLOCK = 256  # rows per block when looking for the top-k index's candidates


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
        their document ``doc`` and ``offset`` (N,) NumPy; ``ids`` (B·T,) tensor or None;
        ``loss_rows`` the flat rows whose next-symbol loss counts."""
        torch, o, acc = self.torch, self.opts, self.acc
        n = len(rows)
        if n == 0:
            return
        full = n == layers[0]["h"].shape[0]
        sel = None if full else torch.from_numpy(rows).to(self.dev)
        acc["tokens"] += n
        tok = None
        if ids is not None:
            tok = ids if full else ids[sel]
            acc["symbol.count"] += torch.bincount(tok, minlength=self.V)
        for p, rec in zip(self.cells, layers):
            vals = {f: rec[f] if full else rec[f][sel] for f in (*FIELDS, "h_prev")}
            bins = {}
            for f in FIELDS:
                v = vals[f]
                # float64 sums of each chunk's (float32: pairwise float32 sums, 1e-7 relative)
                total = v.sum(0)
                acc[f"{p}.{f}.sum"] += total.double()
                acc[f"{p}.{f}.sumsq"] += (v * v).sum(0).double()
                bins[f] = self._bins(v, f, not bool(torch.isfinite(total).all()))
                if f in GATES:  # bool as uint8: the fast reduction
                    acc[f"{p}.{f}.below"] += (v < o.left).view(torch.uint8).sum(
                        0, dtype=torch.int32)
                    acc[f"{p}.{f}.above"] += (v > o.right).view(torch.uint8).sum(
                        0, dtype=torch.int32)
                for s, sign in SIGNS.items() if self.top else ():
                    self._top(f"{p}.{f}.{s}", v, sign, doc, off)
            for a, b in (("z", "r"), ("n", "h")):  # one count per pair: joint bins, then marginals
                joint = torch.bincount(bins[a].mul_(o.bins).add_(bins[b]).add_(self.offsets2)
                                       .reshape(-1), minlength=self.H * o.bins ** 2)
                joint = joint.reshape(self.H, o.bins, o.bins)
                acc[f"{p}.{a}.hist"] += joint.sum(2).reshape(-1)
                acc[f"{p}.{b}.hist"] += joint.sum(1).reshape(-1)
            if tok is not None:
                dh = vals["h"] - vals["h_prev"]
                acc[f"{p}.dh.sum"] += torch.zeros((self.V, self.H), dtype=dh.dtype,
                                                  device=self.dev).index_add_(0, tok, dh).double()
        if "loss.sum" in acc and len(loss_rows):
            lr = torch.from_numpy(loss_rows).to(self.dev)
            scores = logits_fn(layers[-1]["h_prev"][lr])  # (V, n): reductions over dim 0 are
            target = ids[lr]  # the fast ones
            mine = torch.take(scores, target * scores.shape[1] + torch.arange(
                len(lr), device=self.dev))
            nll = torch.logsumexp(scores, 0).sub_(mine)
            acc["loss.sum"] += torch.zeros(self.V, dtype=nll.dtype, device=self.dev
                                           ).index_add_(0, target, nll).double()
            acc["loss.count"] += torch.bincount(target, minlength=self.V)
            right = target[mine >= scores.amax(0)]  # the top score (an exact tie counts)
            acc["loss.correct"] += torch.bincount(right, minlength=self.V)

    def _bins(self, v, f: str, nan: bool):
        """(N, H) int32 bins: b = floor((v − lo) / (hi − lo) · bins), clamped to the end bins
        (ranges are powers of two wide, so the scaling is one exact multiplication)."""
        bins = self.opts.bins
        lo, hi = RANGES[f]
        x = v.mul(bins / (hi - lo)) if lo == 0 else (v - lo).mul_(bins / (hi - lo))
        if nan:
            x = torch_nan_to_num(self.torch, x)
        return x.clamp_(0, bins - 1).to(self.torch.int32)  # clamped first: trunc = floor

    def _top(self, p: str, v, sign: float, doc: np.ndarray, off: np.ndarray) -> None:
        """Merge this chunk's rows that can enter each unit's k best into the running list.

        Only values at or beyond the running k-th best are looked at (all of them while the
        list is not full: then the chunk's own k-th best bounds them), ties included, and the
        k best are picked by (value, document, offset): any split of the corpus gives the same
        list."""
        torch = self.torch
        cur = self.top[p]
        k = self.opts.top_k
        N, H = v.shape
        thr = cur["value"][:, -1].copy()  # signed k-th best so far (−inf: not full)
        if not np.isfinite(thr).all():
            kk = min(k, N)
            chunk = torch.topk(torch_nan_to_num(torch, v * sign, -math.inf), kk, dim=0)[0][-1]
            thr = np.maximum(thr, chunk.cpu().numpy().astype(np.float64))
        t = torch.from_numpy(sign * thr).to(self.dev, v.dtype)
        full = np.isfinite(cur["value"][:, -1]).all()
        # Blocks of rows whose extreme reaches a unit's threshold: only those are compared
        # (a full comparison and nonzero would cost more than all other statistics).
        B = BLOCK
        nb = N // B
        ext = [] if nb == 0 else [(v[:nb * B].view(nb, B, H).amax(1) if sign > 0
                                   else v[:nb * B].view(nb, B, H).amin(1))]
        if nb * B < N:
            ext.append((v[nb * B:].amax(0) if sign > 0 else v[nb * B:].amin(0))[None])
        ext = torch.cat(ext)
        blk, unit = ((ext >= t) if sign > 0 else (ext <= t)).nonzero().T
        if not len(blk):
            return
        rows = (blk[:, None] * B + torch.arange(B, device=self.dev)).clamp_(max=N - 1)
        v = v.contiguous()
        sub, ts = torch.take(v, rows * H + unit[:, None]), t[unit][:, None]  # (P, B)
        hit = (sub > ts) if sign > 0 else (sub < ts)
        if full:  # a value equal to the k-th enters only at an earlier (document, offset)
            key = torch.from_numpy(doc * 2**32 + off).to(self.dev)
            kth = torch.from_numpy(cur["doc"][:, -1] * 2**32 + cur["offset"][:, -1]).to(
                self.dev)
            hit |= (sub == ts) & (torch.take(key, rows) < kth[unit][:, None])
        else:
            hit |= sub == ts
        pair, j = hit.nonzero().T
        r, u = torch.take(rows, pair * B + j), unit[pair]
        if nb * B < N:  # the clamped tail repeats row N − 1: keep each (row, unit) once
            keep = np.unique(np.stack([r.cpu().numpy(), u.cpu().numpy()]), axis=1)
            r, u = (torch.from_numpy(a).to(self.dev) for a in keep)
        if not len(r):
            return
        val = (torch.take(v, r * H + u) * sign).cpu().numpy().astype(np.float64)
        r_n, u_n = r.cpu().numpy(), u.cpu().numpy()
        order = np.lexsort((off[r_n], doc[r_n], -val, u_n))
        u_s = u_n[order]
        first = np.searchsorted(u_s, u_s)  # where each unit's run starts
        keep = order[np.arange(len(order)) - first < k]
        u_k = u_n[keep]
        slot = np.arange(len(keep)) - np.searchsorted(u_k, u_k)
        units, u_k = np.unique(u_k, return_inverse=True)  # merge only the units with news
        new = empty_top(len(units), k, self.np_dtype, None)
        new["rows"] = np.zeros((len(units), k, H), self.np_dtype)
        new["value"][u_k, slot] = val[keep]
        new["doc"][u_k, slot] = doc[r_n[keep]]
        new["offset"][u_k, slot] = off[r_n[keep]]
        new["rows"][u_k, slot] = v.index_select(0, torch.from_numpy(r_n[keep]).to(self.dev)
                                                ).cpu().numpy()
        merged = merge_top({n: a[units] for n, a in cur.items()}, new, k)
        for n, a in merged.items():
            cur[n][units] = a


def torch_nan_to_num(torch, x, nan: float = 0.0):
    return torch.nan_to_num(x, nan=nan)
