"""The chunk engine: B streams run for T steps on torch, every gate of every layer recorded."""

from __future__ import annotations

import numpy as np

from gru_viz.analysis.corpus.subject import Subject
from gru_viz.core.errors import InputError

RECORDERS = ("auto", "fused", "loop")


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class Scratch:
    """Tensors reused chunk after chunk, by key: a fresh chunk-sized tensor each time costs
    page faults, more than the ops that fill it. A kept tensor with more rows serves too."""

    def __init__(self, torch, device) -> None:
        self.torch, self.device, self._kept = torch, device, {}

    def get(self, key, shape: tuple[int, ...], dtype):
        t = self._kept.get(key)
        if t is None or t.dtype != dtype or t.shape[1:] != shape[1:] or len(t) < shape[0]:
            t = self._kept[key] = self.torch.empty(shape, dtype=dtype, device=self.device)
        return t[:shape[0]]


class ChunkEngine:
    """Runs a chunk of B streams for T steps and gives every gate of every layer (torch)."""

    def __init__(self, subject: Subject, dtype: str, device: str, recorder: str = "auto"
                 ) -> None:
        import torch

        self.torch, self.subject = torch, subject
        self.dtype = getattr(torch, dtype)
        self.device = torch.device(device)
        if recorder not in RECORDERS:
            raise InputError(f"recorder must be one of {', '.join(RECORDERS)}; got {recorder!r}.")
        self.recorder = recorder if recorder != "auto" else (
            "fused" if self.device.type == "cuda" else "loop")
        m = subject.model
        self.H, self.D = m.hidden_size, m.num_directions
        if self.D == 2 or not m.reset_after:
            # both directions in one loop; reset before, nn.GRU has no kernel to fuse
            self.recorder = "loop"

        def t(a):
            return torch.as_tensor(np.array(a)).to(self.device, self.dtype)

        self.scratch = Scratch(torch, self.device)  # the loop's and the statistics' buffers
        self.cells = []  # [k][d]: (nn.GRU or None, fused weights, reset_after)
        for layer in m.cells:
            self.cells.append([self._cell(w, t) for w in layer])
        self.emb = None if subject.embedding is None else t(subject.embedding)
        self.table = None  # symbols: layer 0's input side x W_iᵀ + b_i for each symbol (V, 3H)
        if subject.kind == "ids":
            rows = self.emb if self.emb is not None else torch.eye(m.input_size).to(
                self.device, self.dtype)
            self.table = [torch.addmm(c[1]["bias_ih"], rows, c[1]["weight_ih"].T)
                          for c in self.cells[0]]
            if self.recorder == "loop":
                self.table = [self._arrange(g, c[1], c[2], g.new_empty(
                    (len(g), self._pre_width(c[2])))) for g, c in zip(self.table, self.cells[0])]
        self.head_w = t(subject.head_weight) if subject.scores_symbols else None
        self.head_b = (t(subject.head_bias) if subject.head_bias is not None
                       else None) if subject.scores_symbols else None
        if self.head_w is not None:
            self.head_b_col = (self.head_b if self.head_b is not None else torch.zeros(
                self.head_w.shape[0], dtype=self.dtype, device=self.device))[:, None]

    def _cell(self, w, t):
        torch = self.torch
        fused = {n: t(a) for n, a in w.fused().items()}
        gru = None
        if self.recorder == "fused":  # time-major, as the records
            gru = torch.nn.GRU(w.input_size, self.H, 1).to(self.device, self.dtype)
            with torch.no_grad():
                for n, a in fused.items():
                    getattr(gru, f"{n}_l0").copy_(a)
            if self.device.type == "cuda":
                gru.flatten_parameters()
        return gru, fused, w.reset_after

    def logits(self, h):
        """The head's scores, transposed: (V, N) for states h (N, D·H)."""
        return self.torch.addmm(self.head_b_col, self.head_w, h.T)

    def inputs(self, tokens: np.ndarray):
        """(T, B) ids or (T, B, I) vectors -> (T, B, I) on the device."""
        torch = self.torch
        x = torch.from_numpy(tokens).to(self.device)
        if self.subject.kind == "vectors":
            return x.to(self.dtype)
        if self.emb is not None:
            return self.emb[x]
        return torch.nn.functional.one_hot(x, self.subject.model.input_size).to(self.dtype)

    def run(self, x, h0, ids=None):
        """x (T, B, I), h0 (L, B, H) -> ([{z, r, n, h, h_prev} (T·B, H) per layer], h_T (L, B, H)).

        Time-major throughout: record row t·B + b is stream b's step t (the loop's buffers
        are then the records themselves, without a copy). The input side a = x W_iᵀ + b_i of
        all steps is one product (for symbols ``ids`` (T·B,), rows of a per-symbol table).
        Then either recorder:

        - ``fused``: the states from ``nn.GRU``'s fused kernel, then every gate of the chunk at
          once from h_{t−1} with whole-chunk products (parallel over time: fast on a GPU);
        - ``loop``: a torch loop over the steps that writes every gate as it goes into buffers
          reused from run to run (on CPU about half the time of the fused states plus the
          recomputation, ``benchmarks/bench_corpus.py``): its records are views of those
          buffers, valid only until the next ``run`` (h_T is always a fresh tensor).
        """
        torch = self.torch
        T, B = x.shape[:2]
        D, out_layers, finals = self.D, [], []
        with torch.no_grad():
            for k, cells in enumerate(self.cells):
                outs = []
                for d, (gru, p, reset_after) in enumerate(cells):
                    table = self.table[d] if k == 0 and ids is not None and self.table else None
                    gi = None if table is not None else self._input_side(p, x, (k, d))
                    if self.recorder == "loop":
                        pre = self._buf((k, d, "pre"), T * B, self._pre_width(reset_after))
                        pre = (torch.index_select(table, 0, ids, out=pre) if gi is None
                               else self._arrange(gi, p, reset_after, pre))
                        rec, out = self._loop(p, reset_after, pre.view(T, B, -1),
                                              h0[k * D + d], (k, d))
                    else:
                        gi = table.index_select(0, ids) if gi is None else gi
                        rec, out = self._fused(gru, p, x, gi, h0[k])
                    out_layers.append(rec)
                    finals.append(out[0 if d else -1])
                    outs.append(out)
                x = outs[0] if D == 1 else torch.cat(outs, -1)
        return out_layers, torch.stack(finals)

    def _input_side(self, p, x, cell):
        """x W_iᵀ + b_i (T·B, 3H) for x (T, B, I), in the cell's reused buffer."""
        x = x.reshape(-1, x.shape[-1])
        return self.torch.addmm(p["bias_ih"], x, p["weight_ih"].T,
                                out=self._buf((*cell, "gi"), len(x), 3 * self.H))

    def _fused(self, gru, p, x, gi, h0):
        """Every gate of a reset-after cell from nn.GRU's states, in whole-chunk products."""
        torch, H = self.torch, self.H
        out = gru(x, h0[None])[0]  # (T, B, H)
        hp = torch.cat([h0[None], out[:-1]]).flatten(0, 1)
        gh = torch.addmm(p["bias_hh"], hp, p["weight_hh"].T)
        rz = torch.sigmoid(gi[:, :2 * H].add_(gh[:, :2 * H]))
        n = torch.tanh(gi[:, 2 * H:].addcmul_(rz[:, :H], gh[:, 2 * H:]))
        return {"z": rz[:, H:], "r": rz[:, :H], "n": n, "h": out.flatten(0, 1), "h_prev": hp}, out

    def _pre_width(self, reset_after: bool) -> int:
        return (4 if reset_after else 3) * self.H

    def _arrange(self, gi, p, reset_after, out):
        """The input side gi = x W_iᵀ + b_i (N, 3H) laid out for the loop in ``out``, every
        bias that does not depend on r folded in: [a_rz + b_hrz, b_hn, a_n] (N, 4H)
        resetting after, [a_rz + b_hrz, a_n + b_hn] (N, 3H) before."""
        torch, H, b = self.torch, self.H, p["bias_hh"]
        torch.add(gi[:, :2 * H], b[:2 * H], out=out[:, :2 * H])
        if reset_after:
            out[:, 2 * H:3 * H] = b[2 * H:]
            out[:, 3 * H:] = gi[:, 2 * H:]
        else:
            torch.add(gi[:, 2 * H:], b[2 * H:], out=out[:, 2 * H:])
        return out

    def _buf(self, key, *shape):
        return self.scratch.get(key, shape, self.dtype)

    def _loop(self, p, reset_after, pre, h0, cell):
        """pre (T, B, 4H or 3H) from ``_arrange`` -> the records, views of the buffers: the
        steps write r and z into pre's first 2H columns, n and the states into theirs.

        hs[t + 1] is the state after step t reading forward (hs[0] = h0); reading in
        reverse, hs[t] is the state after step t (hs[T] = h0)."""
        torch, H = self.torch, self.H
        T, B = pre.shape[:2]
        reverse = cell[1] == 1
        n, hs = self._buf((*cell, "n"), T, B, H), self._buf((*cell, "hs"), T + 1, B, H)
        hs[T if reverse else 0] = h0
        # each step's views made at once (unbind): fewer Python calls in the loop
        RZ, R, Z = (pre[:, :, c].unbind(0) for c in (
            slice(0, 2 * H), slice(0, H), slice(H, 2 * H)))
        N, HS = n.unbind(0), hs.unbind(0)
        if reset_after:  # n = tanh(a_n + r ⊙ (W_hn h + b_hn)): one product per step
            W = p["weight_hh"].T.contiguous()
            G, GN, A = (pre[:, :, c].unbind(0) for c in (
                slice(0, 3 * H), slice(2 * H, 3 * H), slice(3 * H, 4 * H)))
        else:  # n = tanh(a_n + b_hn + W_hn (r ⊙ h))
            W = p["weight_hh"][:2 * H].T.contiguous()
            W_n, d = p["weight_hh"][2 * H:].T.contiguous(), pre.new_empty((B, H))
            G, A = RZ, pre[:, :, 2 * H:].unbind(0)
        h = HS[T if reverse else 0]
        addmm, sub, addcmul, mul = torch.addmm, torch.sub, torch.addcmul, torch.mul
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            G[t].addmm_(h, W)
            RZ[t].sigmoid_()
            nt = N[t]
            if reset_after:
                addcmul(A[t], R[t], GN[t], out=nt)
            else:
                addmm(A[t], mul(R[t], h, out=d), W_n, out=nt)
            nt.tanh_()
            ht = HS[t if reverse else t + 1]
            sub(h, nt, out=ht)  # h = n + z ⊙ (h_prev − n)
            ht.mul_(Z[t]).add_(nt)
            h = ht
        out, prev = (hs[:-1], hs[1:]) if reverse else (hs[1:], hs[:-1])
        rec = {"z": pre[:, :, H:2 * H], "r": pre[:, :, :H], "n": n, "h": out, "h_prev": prev}
        return {f: a.flatten(0, 1) for f, a in rec.items()}, out
