"""Statistics of every unit over a whole corpus, accumulated in batches, never the full trace.

``corpus_stats(checkpoint, "corpus/", out="stats.gruviz-corpus.npz")`` (or ``python -m gru_viz
corpus MODEL CORPUS --out ...``) runs the GRU over every document of a corpus (see
``gru_viz.io.corpus`` for what a document is) and keeps, per layer, direction and unit:

- ``{f}.sum``, ``{f}.sumsq``  sums of the values and of their squares (f = z, r, n, h)
- ``{f}.hist``  counts in ``bins`` fixed bins over the field's range (values outside go to the
  end bins), so files merge by adding
- ``{g}.below``, ``{g}.above``  steps with gate g < ``left`` and > ``right`` (saturation)
- ``dh.sum``  (V, H) sums of h_t − h_{t−1} per symbol read (expected response, RNNVis), with
  ``symbol.count`` (V,)
- ``{f}.top.*``, ``{f}.bottom.*``  the ``top_k`` positions (document, offset) where each unit's
  value is highest / lowest, with the value of every unit there and the tokens around it, so
  the explorer's unit search and matches run over the whole corpus without recomputing it
- ``loss.sum``, ``loss.count``, ``loss.correct`` (V,) per next symbol, when the model has a head
  that scores its symbols: −log p(x_t | h_{t−1}) and whether the top score was x_t, for every
  t ≥ 1 of a document (the first symbol has no state to predict it from)

Every statistic is a sum, a count or a top-k merged by (value, document, offset), so shards
merge exactly (``CorpusStats.merge``).

Speed: each chunk of ``chunk`` steps of ``batch`` streams runs torch's fused ``nn.GRU`` for the
states (a torch loop for reset-before models, which ``nn.GRU`` does not have), then recomputes
every gate for all steps of the chunk at once from h_{t−1} with whole-chunk matrix products.

Streams and the state (``mode``):

- ``exact`` (default): every document is one stream, run from h0 = 0 to its end with the state
  carried across every chunk; the batch holds ``batch`` documents at once. Exact, and fast when
  the corpus has many documents; a corpus of a few long documents runs few streams at a time.
- ``segments``: each document is cut into contiguous segments (about tokens / batch long, or
  ``segment``), run as parallel streams. A segment's state starts from h0 = 0 ``warmup`` tokens
  before it (those tokens run but are not counted), so its first steps see an approximate
  state; ``exact`` is the reference.

A bidirectional model's reverse direction reads each document from its end, so its
documents run whole, one at a time (exact mode only; no next-symbol loss, since its output has
seen the next symbol).

Interrupting (Ctrl-C) saves the accumulated statistics, the carried states and each stream's
position to ``<out>.partial.npz``, as does a periodic save; the same command resumes from it.

The package's modules: ``options`` (Options), ``subject`` (the model run), ``engine`` (the chunk
engine), ``accumulator`` (sums, histograms), ``index`` (the top-k lists), ``stats`` (the file),
``schedule`` (jobs and streams), ``driver`` (running and resuming), ``job`` (``corpus_stats``),
``progress`` and ``cluster`` (the Dask engine, imported only when asked for).
"""

from gru_viz.analysis.corpus.accumulator import BLOCK, Accumulator
from gru_viz.analysis.corpus.driver import MAX_WHOLE, run_jobs
from gru_viz.analysis.corpus.engine import RECORDERS, ChunkEngine, pick_device
from gru_viz.analysis.corpus.index import SIGNS, empty_top, merge_top
from gru_viz.analysis.corpus.job import CorpusJob, corpus_stats
from gru_viz.analysis.corpus.options import MODES, Options
from gru_viz.analysis.corpus.progress import ProgressBar
from gru_viz.analysis.corpus.schedule import Jobs, Slots, make_jobs, shard_jobs
from gru_viz.analysis.corpus.stats import (
    FIELDS,
    FORMAT,
    GATES,
    RANGES,
    SUFFIX,
    VERSION,
    CorpusStats,
    Top,
)
from gru_viz.analysis.corpus.subject import Subject, cell_prefix, model_digest, subject_of

__all__ = [
    "BLOCK", "FIELDS", "FORMAT", "GATES", "MAX_WHOLE", "MODES", "RANGES", "RECORDERS", "SIGNS",
    "SUFFIX", "VERSION", "Accumulator", "ChunkEngine", "CorpusJob", "CorpusStats", "Jobs",
    "Options", "ProgressBar", "Slots", "Subject", "Top", "cell_prefix", "corpus_stats",
    "empty_top", "make_jobs", "merge_top", "model_digest", "pick_device", "run_jobs",
    "shard_jobs", "subject_of",
]
