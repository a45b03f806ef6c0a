"""A whole corpus job: ``corpus_stats`` opens the model and corpus, runs the local or the
Dask engine and saves the file."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gru_viz.analysis.corpus.driver import run_jobs
from gru_viz.analysis.corpus.options import Options
from gru_viz.analysis.corpus.progress import ProgressBar
from gru_viz.analysis.corpus.schedule import Jobs, make_jobs
from gru_viz.analysis.corpus.stats import CorpusStats
from gru_viz.analysis.corpus.subject import Subject, subject_of
from gru_viz.core.errors import InputError
from gru_viz.io.corpus import Corpus, open_corpus


@dataclass
class CorpusJob:
    """Everything a corpus job needs, opened once: used by ``corpus_stats`` and by the Dask
    engine's workers (picklable: the corpus is reopened where it runs)."""

    subject: Subject
    paths: list[str]
    opts: Options
    work_dir: str | None = None
    _corpus: Corpus | None = field(default=None, repr=False)

    def corpus(self) -> Corpus:
        if self._corpus is None:
            work = self.work_dir or tempfile.mkdtemp(prefix="gruviz-corpus-")
            s = self.subject
            self._corpus = open_corpus(self.paths, s.kind, work, s.vocabulary, s.symbols,
                                       s.model.input_size, self.opts.split)
        return self._corpus

    def __getstate__(self):
        return {**self.__dict__, "_corpus": None, "work_dir": None}


def _run_engine(engine: str, job: CorpusJob, c: Corpus, jobs: Jobs, out: Path | None,
                work: Path | None, scheduler: str | None, shards: int | None, bar,
                resume: bool) -> CorpusStats:
    """The statistics from the local engine (resuming from ``<out>.partial.npz``) or Dask."""
    t0 = time.perf_counter()
    if engine == "dask":
        from gru_viz.analysis.corpus.cluster import run_on_dask

        if work is not None and not resume and (work / "shards").exists():
            for f in (work / "shards").iterdir():
                f.unlink()
        stats = run_on_dask(job, jobs, scheduler, shards, work, bar)
        stats.meta["seconds"] = time.perf_counter() - t0  # wall time, not the workers' sum
        return stats
    if engine != "local":
        raise InputError(f"engine must be local or dask; got {engine!r}.")
    state = Path(str(out) + ".partial.npz") if out is not None else None
    if state is not None and not resume and state.exists():
        state.unlink()
    stats = run_jobs(job.subject, c, jobs, job.opts, state, bar)
    if state is not None and state.exists():
        state.unlink()
    return stats


def corpus_stats(model, corpus, out: str | os.PathLike | None = None, *,
                 options: Options | None = None, engine: str = "local",
                 scheduler: str | None = None, shards: int | None = None,
                 progress: bool | Callable[[int], None] = True, resume: bool = True,
                 **kw) -> CorpusStats:
    """Corpus statistics of ``model`` (a Checkpoint, GRUModel or Subject, or a checkpoint path)
    over ``corpus`` (a file, a folder, or a list of them); saved to ``out`` when given.

    Keyword arguments are ``Options`` fields (batch=64, mode="exact", ...). ``engine="dask"``
    runs shards on the Dask cluster at ``scheduler`` (None: a local one); see
    ``gru_viz.analysis.corpus.cluster``.
    """
    from gru_viz.io.checkpoint import load_checkpoint

    if isinstance(model, (str, os.PathLike)):
        model = load_checkpoint(model)
    opts = replace(options or Options(), **kw)
    subject = subject_of(model)
    out = None if out is None else Path(out)
    work = Path(str(out) + ".work") if out is not None else None
    job = CorpusJob(subject, [str(p) for p in (corpus if isinstance(corpus, (list, tuple))
                                               else [corpus])], opts,
                    str(work) if work is not None else None)
    c = job.corpus()
    jobs = make_jobs(c, opts)
    bar = ProgressBar(jobs.tokens) if progress is True else (progress or None)
    stats = _run_engine(engine, job, c, jobs, out, work, scheduler, shards, bar, resume)
    if isinstance(bar, ProgressBar):
        bar(stats.tokens, final=True)
    stats.meta["tokens_per_second"] = stats.tokens / max(stats.meta["seconds"], 1e-9)
    if out is not None:
        stats.save(out)
        if work is not None and work.exists():
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    return stats
