"""Scheduling: the jobs (documents or segments of them), their shards, and the streams
(slots) that run them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gru_viz.analysis.corpus.options import Options
from gru_viz.io.corpus import Corpus


@dataclass
class Jobs:
    """Contiguous ranges of documents to run: count steps [start, stop) of document ``doc``,
    running from offset ``warm`` ≤ start with h0 = 0."""

    doc: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    warm: np.ndarray

    def __len__(self) -> int:
        return len(self.doc)

    def take(self, idx) -> Jobs:
        return Jobs(self.doc[idx], self.start[idx], self.stop[idx], self.warm[idx])

    @property
    def tokens(self) -> int:
        return int((self.stop - self.start).sum())


def make_jobs(corpus: Corpus, opts: Options) -> Jobs:
    lengths = corpus.doc_stop - corpus.doc_start
    docs = np.arange(corpus.documents)
    if opts.mode == "exact":
        zero = np.zeros_like(lengths)
        return Jobs(docs, zero, lengths.copy(), zero.copy())
    seg = opts.segment or max(math.ceil(int(lengths.sum()) / opts.batch), opts.chunk)
    d, s, e = [], [], []
    for i, n in zip(docs, lengths):
        pieces = max(1, math.ceil(int(n) / seg))
        bounds = [int(n) * j // pieces for j in range(pieces + 1)]
        d += [i] * pieces
        s += bounds[:-1]
        e += bounds[1:]
    s_a = np.array(s, np.int64)
    return Jobs(np.array(d, np.int64), s_a, np.array(e, np.int64),
                np.maximum(s_a - opts.warmup, 0))


def shard_jobs(jobs: Jobs, shards: int) -> list[Jobs]:
    """Consecutive groups of jobs with about equal tokens each (at most ``shards``)."""
    n = (jobs.stop - jobs.warm).astype(float)
    cut = np.searchsorted(np.cumsum(n), np.linspace(0, n.sum(), shards + 1)[1:-1], "right")
    groups = np.split(np.arange(len(jobs)), np.unique(cut))
    return [jobs.take(g) for g in groups if len(g)]


class Slots:
    """B streams: which job each runs (−1: none) and where it stands (offset in its document)."""

    def __init__(self, B: int, L: int, H: int, dtype) -> None:
        self.job = np.full(B, -1, np.int64)
        self.pos = np.zeros(B, np.int64)
        self.h = np.zeros((L, B, H), dtype)
        self.next = 0

    def fill(self, jobs: Jobs) -> None:
        for b in np.flatnonzero(self.job < 0):
            if self.next >= len(jobs):
                break
            self.job[b] = self.next
            self.pos[b] = jobs.warm[self.next]
            self.h[:, b] = 0
            self.next += 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {"slots.job": self.job, "slots.pos": self.pos, "slots.h": self.h,
                "slots.next": np.array(self.next)}

    def load(self, a: Mapping[str, np.ndarray]) -> None:
        self.job, self.pos = np.array(a["slots.job"]), np.array(a["slots.pos"])
        self.h, self.next = np.array(a["slots.h"]), int(a["slots.next"])
