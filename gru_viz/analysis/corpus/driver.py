"""Running jobs: chunk after chunk through the engine into the accumulator, saving and
resuming the job's state (``<out>.partial.npz``)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gru_viz.analysis.corpus.accumulator import Accumulator
from gru_viz.analysis.corpus.engine import ChunkEngine, pick_device
from gru_viz.analysis.corpus.options import Options
from gru_viz.analysis.corpus.schedule import Jobs, Slots
from gru_viz.analysis.corpus.stats import FORMAT, RANGES, VERSION, CorpusStats
from gru_viz.analysis.corpus.subject import Subject, model_digest
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel
from gru_viz.io.corpus import Corpus

MAX_WHOLE = 2_000_000  # tokens of one document run whole (bidirectional models)
READ = 1 << 20  # tokens read at a time for the contexts of the indexed positions


def _meta(subject: Subject, corpus: Corpus, opts: Options) -> dict:
    m = subject.model
    return {"format": FORMAT, "version": VERSION, "model_sha256": model_digest(subject),
            "model": m.describe(), "layers": m.num_layers, "directions": m.num_directions,
            "hidden_size": m.hidden_size, "reset_after": m.reset_after,
            "options": opts.shaping(), "ranges": RANGES, "kind": subject.kind,
            "symbols": subject.symbol_names(), "has_loss": subject.scores_symbols,
            "corpus": [Path(p).name for p in corpus.paths], "documents": corpus.documents,
            "skipped": corpus.skipped, "corpus_fingerprint": corpus.fingerprint}


def run_jobs(subject: Subject, corpus: Corpus, jobs: Jobs, opts: Options,
             state_file: str | os.PathLike | None = None,
             progress: Callable[[int], None] | None = None,
             stop_after: int | None = None) -> CorpusStats | None:
    """Run ``jobs`` of ``corpus`` and return their statistics.

    With ``state_file``, the accumulated statistics, the carried states and each stream's
    position are saved there every ``opts.state_every`` seconds and on KeyboardInterrupt (then
    re-raised), and a run finding a matching file continues from it. ``stop_after`` = n stops
    (saving the state, returning None) after n chunks: a test's interruption.
    """
    import torch

    if opts.threads:
        torch.set_num_threads(opts.threads)
    engine = ChunkEngine(subject, opts.dtype, pick_device(opts.device), opts.recorder)
    acc = Accumulator(subject, opts, engine)
    m = subject.model
    B, T = _stream_shape(m, opts, jobs)
    slots = Slots(B, m.num_layers * m.num_directions, m.hidden_size, np.dtype(opts.dtype))
    meta = _meta(subject, corpus, opts)
    state = _State(state_file, _fingerprint(meta, opts, jobs), acc, slots)
    chunks = 0
    try:
        while True:
            slots.fill(jobs)
            active = np.flatnonzero(slots.job >= 0)
            if not len(active):
                break
            _run_chunk(engine, acc, corpus, jobs, slots, active, T, opts.dtype)
            chunks += 1
            if progress is not None:
                progress(int(acc.acc["tokens"]))
            if stop_after is not None and chunks >= stop_after:
                state.save()
                return None
            state.save_every(opts.state_every)
    except KeyboardInterrupt:
        state.save()
        raise
    return _result(acc, corpus, meta, state.seconds())


def _stream_shape(m: GRUModel, opts: Options, jobs: Jobs) -> tuple[int, int]:
    """(streams, steps per chunk): the options', or for a bidirectional model one whole
    document at a time (its reverse direction reads each document from its end)."""
    if not m.bidirectional:
        return opts.batch, opts.chunk
    if opts.mode != "exact":
        raise InputError("A bidirectional model runs each document whole: use the exact mode.")
    T = int((jobs.stop - jobs.warm).max()) if len(jobs) else 1
    if T > MAX_WHOLE:
        raise InputError(f"A bidirectional model runs each document whole, and one has "
                         f"{T:,} tokens (at most {MAX_WHOLE:,}): split it (--split line).")
    return 1, T


def _fingerprint(meta: dict, opts: Options, jobs: Jobs) -> str:
    job_key = hashlib.sha256(b"".join(a.tobytes() for a in (jobs.doc, jobs.start, jobs.stop,
                                                            jobs.warm))).hexdigest()
    return json.dumps([meta["model_sha256"], meta["corpus_fingerprint"], opts.shaping(),
                       job_key])


class _State:
    """A job's saved state (``<out>.partial.npz``): loaded when it matches, saved on demand."""

    def __init__(self, path: str | os.PathLike | None, fingerprint: str, acc: Accumulator,
                 slots: Slots) -> None:
        self.path, self.fingerprint, self.acc, self.slots = path, fingerprint, acc, slots
        self.before = 0.0  # seconds spent by the runs before this one
        if path is not None and Path(path).exists():
            with np.load(path, allow_pickle=False) as z:
                if str(z["fingerprint"]) != fingerprint:
                    raise InputError(f"{Path(path).name} is the state of another job (model, "
                                     "corpus or options differ); delete it to start over.")
                saved = {k: z[k] for k in z.files}
            acc.load(saved)
            slots.load(saved)
            self.before = float(saved["seconds"])
        self.t0 = self.last = time.perf_counter()

    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.t0

    def save(self) -> None:
        if self.path is None:
            return
        tmp = Path(str(self.path) + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, fingerprint=np.array(self.fingerprint),
                     seconds=np.array(self.seconds()), **self.acc.arrays(), **self.slots.arrays())
        os.replace(tmp, self.path)

    def save_every(self, seconds: float) -> None:
        if self.path is not None and time.perf_counter() - self.last > seconds:
            self.save()
            self.last = time.perf_counter()


def _run_chunk(engine: ChunkEngine, acc: Accumulator, corpus: Corpus, jobs: Jobs,
               slots: Slots, active: np.ndarray, T: int, dtype: str) -> None:
    """Up to T steps of every active stream: read, run, accumulate, advance the slots."""
    import torch

    j = slots.job[active]
    pos, stop = slots.pos[active], jobs.stop[j]
    n = np.minimum(stop - pos, T)
    Tc, Ba = int(n.max()), len(active)
    vectors = engine.subject.kind == "vectors"
    # time-major, as the engine's records: flat row t·Ba + b is stream b's step t
    tokens = (np.zeros((Tc, Ba, engine.subject.model.input_size), np.dtype(dtype)) if vectors
              else np.zeros((Tc, Ba), np.int64))
    for b in range(Ba):
        g = corpus.doc_start[jobs.doc[j[b]]] + pos[b]
        tokens[:n[b], b] = corpus.read(int(g), int(g + n[b]))
    t_off = pos[None] + np.arange(Tc)[:, None]  # (Tc, Ba) offsets in the documents
    real = np.arange(Tc)[:, None] < n[None]
    counted = real & (t_off >= jobs.start[j][None])
    rows = np.flatnonzero(counted)
    doc_rows = np.tile(jobs.doc[j], Tc)[rows]
    off_rows = t_off.reshape(-1)[rows]
    loss_rows = np.flatnonzero(counted & (t_off > jobs.warm[j][None]))
    x = engine.inputs(tokens)
    h0 = torch.from_numpy(slots.h[:, active]).to(engine.device)
    ids = None if vectors else torch.from_numpy(tokens.reshape(-1)).to(engine.device)
    layers, h_T = engine.run(x, h0, ids)
    acc.add(layers, ids, rows, doc_rows, off_rows, loss_rows,
            engine.logits if engine.head_w is not None else None)
    slots.h[:, active] = h_T.cpu().numpy()
    slots.pos[active] = pos + n
    slots.job[active[pos + n >= stop]] = -1


def _result(acc: Accumulator, corpus: Corpus, meta: dict, seconds: float) -> CorpusStats:
    arrays = acc.arrays()
    if acc.context is not None:
        _fill_contexts(arrays, corpus, acc.context)
    meta["seconds"] = seconds
    used = {int(d) for name, a in arrays.items() if name.endswith(".doc") for d in a.ravel()
            if d >= 0}
    meta["doc_names"] = {str(d): corpus.name(d) for d in sorted(used)}
    return CorpusStats(meta, arrays)


def _fill_contexts(arrays: dict[str, np.ndarray], corpus: Corpus, C: int) -> None:
    """The ids around each indexed position (−1 outside its document), read from the corpus
    in ascending order, about ``READ`` tokens at a time."""
    names = [n[: -len(".doc")] for n in arrays if n.endswith(".doc")]
    keys = np.unique(np.concatenate([np.zeros(0, np.int64)] + [
        arrays[f"{p}.doc"].ravel() * 2**32 + arrays[f"{p}.offset"].ravel() for p in names]))
    keys = keys[keys >= 0]  # empty entries: doc −1
    rows = _contexts(corpus, keys >> 32, keys & (2**32 - 1), C)
    for p in names:
        doc, off = arrays[f"{p}.doc"], arrays[f"{p}.offset"]
        at = np.searchsorted(keys, doc * 2**32 + off).clip(max=max(len(keys) - 1, 0))
        ctx = rows[at] if len(keys) else np.zeros(doc.shape + (2 * C + 1,), np.int32)
        ctx[doc < 0] = -1
        arrays[f"{p}.context"] = ctx


def _contexts(corpus: Corpus, d: np.ndarray, o: np.ndarray, C: int) -> np.ndarray:
    """(n, 2C + 1) ids around offsets ``o`` of documents ``d`` (ascending in position)."""
    at = corpus.doc_start[d] + o  # global positions
    lo = np.maximum(at - C, corpus.doc_start[d])
    hi = np.minimum(at + C + 1, corpus.doc_stop[d])
    rows = np.full((len(at), 2 * C + 1), -1, np.int32)
    i = 0
    while i < len(at):
        j = max(int(np.searchsorted(hi, lo[i] + READ, "right")), i + 1)
        got = corpus.read(int(lo[i]), int(hi[i:j].max()))
        for m in range(i, j):
            first = int(lo[m] - (at[m] - C))
            rows[m, first:first + int(hi[m] - lo[m])] = got[lo[m] - lo[i]:hi[m] - lo[i]]
        i = j
    return rows
