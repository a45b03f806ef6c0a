"""The corpus job on a Dask cluster: shards of the corpus run on the workers, merged exactly.

The jobs (documents, or segments of them) are cut into consecutive shards of about equal
tokens; each shard runs ``run_jobs`` on a worker, which opens the corpus itself (text files are
encoded into its own temporary folder), so every worker must see the corpus paths (a shared
file system, or the same files at the same paths). The client merges the shards' statistics in
shard order: counts and histograms add exactly, sums in float64, top-k lists by (value,
document, offset). Each finished shard is saved under ``<out>.work/shards``, so a rerun after
an interruption runs only the shards that did not finish.

Dask is optional (``pip install "dask[distributed]"``); nothing else imports this module.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from functools import reduce
from pathlib import Path

from gru_viz.analysis.corpus.driver import run_jobs
from gru_viz.analysis.corpus.job import CorpusJob
from gru_viz.analysis.corpus.schedule import Jobs, shard_jobs
from gru_viz.analysis.corpus.stats import CorpusStats
from gru_viz.analysis.corpus.subject import model_digest
from gru_viz.core.errors import GRUVizError

_OPENED: dict[str, CorpusJob] = {}  # per worker process: a corpus is encoded once


def run_shard(job: CorpusJob, part: Jobs) -> CorpusStats:
    """One shard on a worker (the corpus opened once per worker process)."""
    key = json.dumps([job.paths, job.opts.split, job.subject.kind,
                      None if job.subject.vocabulary is None else job.subject.vocabulary.symbols,
                      job.subject.model.input_size])
    opened = _OPENED.setdefault(key, job)
    # one torch thread per Dask worker thread unless told otherwise: workers run in parallel
    stats = run_jobs(job.subject, opened.corpus(), part,
                     replace(job.opts, state_every=float("inf"), threads=job.opts.threads or 1))
    assert stats is not None
    return stats


def run_on_dask(job: CorpusJob, jobs: Jobs, scheduler: str | None, shards: int | None,
                work: Path | None, progress=None) -> CorpusStats:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise GRUVizError('The dask engine needs Dask: pip install "dask[distributed]".') from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               dashboard_address=None)  # a process per core of this machine
        client = Client(cluster)
    try:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        parts = shard_jobs(jobs, shards or 4 * workers)
        names = _shard_names(job, parts)
        folder = None if work is None else work / "shards"
        results = _finished(folder, names)
        done = sum(r.tokens for r in results if r is not None)
        futures = {client.submit(run_shard, job, parts[i], pure=False): i
                   for i, r in enumerate(results) if r is None}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if folder is not None:
                results[i].save(folder / names[i])
            done += results[i].tokens
            if progress is not None:
                progress(done)
        merged = reduce(lambda a, b: a.merge(b), results)
        merged.meta["shards"] = len(parts)
        merged.meta["engine"] = "dask"
        return merged
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _shard_names(job: CorpusJob, parts: list[Jobs]) -> list[str]:
    """A file name per shard that changes with the model, corpus, options and its jobs."""
    digest = hashlib.sha256(json.dumps(
        [job.opts.shaping(), job.corpus().fingerprint, job.subject.model.describe()]
    ).encode())
    digest.update(model_digest(job.subject).encode())
    names = []
    for i, p in enumerate(parts):
        h = digest.copy()
        h.update(b"".join(a.tobytes() for a in (p.doc, p.start, p.stop, p.warm)))
        names.append(f"shard-{i}-{h.hexdigest()[:16]}.npz")
    return names


def _finished(folder: Path | None, names: list[str]) -> list[CorpusStats | None]:
    """The shards an earlier run saved in ``folder`` (None for each still to run)."""
    if folder is None:
        return [None] * len(names)
    folder.mkdir(parents=True, exist_ok=True)
    return [CorpusStats.load(folder / n) if (folder / n).exists() else None for n in names]
