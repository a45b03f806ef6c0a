"""The corpus job: its statistics equal those computed from full traces; the state carries
across lines; interrupting and resuming, segments with enough warm-up and Dask shards all give
the single run's numbers."""

import numpy as np
import pytest

from gru_viz.analysis.corpus import (
    FIELDS,
    RANGES,
    SIGNS,
    ChunkEngine,
    CorpusStats,
    Options,
    Subject,
    corpus_stats,
    make_jobs,
    run_jobs,
)
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.io.corpus import open_corpus
from gru_viz.io.inputs import Vocabulary

VOCAB = Vocabulary(tuple("ab()\n x"))


def char_subject(H=6, L=1, reset_after=True, seed=0, head=True, bi=False):
    rng = np.random.default_rng(seed)
    model = GRUModel.random(4, H, L, bi, reset_after=reset_after, seed=seed).map(
        lambda w: w.replace(**{n: getattr(w, n) * 3 for n in ("W_hr", "W_hz", "W_hn", "W_iz")}))
    V = len(VOCAB)
    return Subject(model, rng.normal(size=(V, 4)), rng.normal(size=(V, H)) if head else None,
                   rng.normal(size=V) if head else None, VOCAB)


def write_texts(tmp_path, texts):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i, t in enumerate(texts):
        (folder / f"doc{i}.txt").write_text(t)
    return folder


TEXTS = ["ab(a)\nb(ab)\n" * 5, "((ab))\n" * 7 + "x", "a\nb\n" + "(a b)" * 9, "ab"]
OPTS = dict(dtype="float64", batch=3, chunk=7, threads=1, top_k=5, context=3, progress=False)


def reference(subject, docs, opts):
    """Statistics from full core traces of every document, computed directly."""
    H, V, m = subject.model.hidden_size, len(VOCAB), subject.model
    out = {"tokens": 0, "symbol.count": np.zeros(V, np.int64)}
    values = {}
    loss = np.zeros(V)
    loss_n = np.zeros(V, np.int64)
    right = np.zeros(V, np.int64)
    for d, ids in enumerate(docs):
        tr = run(m, subject.embedding[ids], dtype=np.float64)
        out["tokens"] += len(ids)
        out["symbol.count"] += np.bincount(ids, minlength=V)
        for k, layer in enumerate(tr.layers):
            for cell in layer:
                p = f"l{k}" + ("_reverse" if cell.reverse else "")
                for f in FIELDS:
                    v = getattr(cell, f)
                    values.setdefault((p, f), []).append((d, v))
                dh = cell.h - cell.h_prev
                s = out.setdefault(f"{p}.dh.sum", np.zeros((V, H)))
                np.add.at(s, ids, dh)
        if subject.head_weight is None or m.bidirectional:
            continue
        logits = tr.output @ subject.head_weight.T + subject.head_bias
        lp = logits[:-1] - np.log(np.exp(logits[:-1]).sum(1, keepdims=True))
        tgt = ids[1:]
        np.add.at(loss, tgt, -lp[np.arange(len(tgt)), tgt])
        np.add.at(loss_n, tgt, 1)
        ok = logits[:-1].argmax(1) == tgt
        np.add.at(right, tgt[ok], 1)
    if subject.head_weight is not None and not m.bidirectional:
        out |= {"loss.sum": loss, "loss.count": loss_n, "loss.correct": right}
    for (p, f), parts in values.items():
        v = np.concatenate([x for _, x in parts])
        out[f"{p}.{f}.sum"] = v.sum(0)
        out[f"{p}.{f}.sumsq"] = (v * v).sum(0)
        lo, hi = RANGES[f]
        idx = np.clip(np.floor((v - lo) / (hi - lo) * opts.bins), 0, opts.bins - 1).astype(int)
        out[f"{p}.{f}.hist"] = np.stack([np.bincount(idx[:, u], minlength=opts.bins)
                                         for u in range(H)])
        if f in ("z", "r"):
            out[f"{p}.{f}.below"] = (v < opts.left).sum(0)
            out[f"{p}.{f}.above"] = (v > opts.right).sum(0)
        doc = np.concatenate([np.full(len(x), d) for d, x in parts])
        off = np.concatenate([np.arange(len(x)) for _, x in parts])
        for name, sign in (("top", 1), ("bottom", -1)):
            for u in range(H):
                order = np.lexsort((off, doc, -sign * v[:, u]))[:opts.top_k]
                out[f"{p}.{f}.{name}.doc", u] = doc[order]
                out[f"{p}.{f}.{name}.offset", u] = off[order]
                out[f"{p}.{f}.{name}.rows", u] = v[order]
    return out


def check_against(stats, ref, H, exact_counts=True):
    a = stats.arrays
    assert stats.tokens == ref["tokens"]
    for name, want in ref.items():
        if isinstance(name, tuple):
            key, u = name
            got = a[key][u][: len(want)]
            if key.endswith("rows"):
                np.testing.assert_allclose(got, want, atol=1e-9)
            else:
                np.testing.assert_array_equal(got, want, err_msg=str(name))
        elif name == "tokens":
            continue
        elif np.issubdtype(np.asarray(want).dtype, np.integer):
            np.testing.assert_array_equal(a[name], want, err_msg=name)
        else:
            np.testing.assert_allclose(a[name], want, rtol=1e-9, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("L, reset_after, recorder", [(1, True, "loop"), (2, False, "loop"),
                                                     (2, True, "fused"), (1, False, "fused")])
def test_job_equals_full_traces(tmp_path, monkeypatch, L, reset_after, recorder):
    from gru_viz.analysis.corpus import accumulator, driver

    monkeypatch.setattr(driver, "READ", 9)  # the contexts read a few positions at a time
    # the statistics over a chunk in a few spans, the index's blocks within them
    monkeypatch.setattr(accumulator, "SPAN", 4)
    monkeypatch.setattr(accumulator, "BLOCK", 2)
    s = char_subject(L=L, reset_after=reset_after)
    folder = write_texts(tmp_path, TEXTS)
    stats = corpus_stats(s, folder, recorder=recorder, **OPTS)
    docs = [VOCAB.encode(t) for t in TEXTS]  # files in sorted order doc0..doc3
    check_against(stats, reference(s, docs, Options(**{k: v for k, v in OPTS.items()
                                                       if k != "progress"})), 6)
    # the context around every indexed position is the text there, −1 beyond its document
    for f, u, sign in ((f, u, sign) for f in FIELDS for u in range(6) for sign in SIGNS):
        t = stats.top(0, 0, f, u, sign)
        for d, o, ctx in zip(t.doc, t.offset, t.context):
            padded = np.concatenate([np.full(3, -1), docs[d], np.full(3, -1)])
            np.testing.assert_array_equal(ctx, padded[o:o + 7])
    loss = stats.loss()
    assert loss["positions"] == sum(len(x) - 1 for x in docs)


def test_state_carries_across_lines(tmp_path):
    """Read as one document, the second line starts from the first line's state (the newline
    is a token): the job equals the whole-file trace and differs from a restart per line."""
    s = char_subject(seed=3)
    text = "((ab\n))ab\n(x)\n"
    folder = write_texts(tmp_path, [text])
    opts = Options(**{k: v for k, v in OPTS.items() if k != "progress"})
    whole = corpus_stats(s, folder, **OPTS)
    check_against(whole, reference(s, [VOCAB.encode(text)], opts), 6)
    assert whole.arrays["symbol.count"][VOCAB.symbols.index("\n")] == 3
    lines = corpus_stats(s, folder, split="line", **OPTS)
    per_line = [VOCAB.encode(x) for x in text.splitlines()]
    check_against(lines, reference(s, per_line, opts), 6)
    restarted = reference(s, [VOCAB.encode(x + "\n") for x in text.splitlines()], opts)
    assert np.abs(whole.arrays["l0.h.sum"] - restarted["l0.h.sum"]).max() > 1e-3


@pytest.mark.parametrize("recorder", ["fused", "loop"])
@pytest.mark.parametrize("reset_after", [True, False])
def test_engine_agrees_with_core_float32(recorder, reset_after):
    """nn.GRU's states with every gate recomputed from h_{t−1} in whole-chunk products (fused),
    and the recording loop, both equal the NumPy core within float32 rounding."""
    s = char_subject(H=16, L=2, reset_after=reset_after)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, len(VOCAB), (5, 40))
    eng = ChunkEngine(s, "float32", "cpu", recorder)
    import torch

    steps = np.ascontiguousarray(ids.T)  # time-major (T, B), as the engine runs
    layers, h_T = eng.run(eng.inputs(steps), torch.zeros(2, 5, 16),
                          torch.from_numpy(steps.reshape(-1)))
    tr = run(s.model.astype(np.float32), s.embedding[ids].astype(np.float32), dtype=np.float32)
    for k in range(2):
        for f in FIELDS:
            got = layers[k][f].numpy().reshape(40, 5, 16).transpose(1, 0, 2)
            np.testing.assert_allclose(got, getattr(tr.layers[k][0], f), atol=1e-5)
    np.testing.assert_allclose(h_T.numpy(), tr.h_n, atol=1e-5)


def test_segments_with_full_warmup_equal_exact(tmp_path):
    s = char_subject()
    folder = write_texts(tmp_path, ["(ab)\nab" * 20])
    exact = corpus_stats(s, folder, **OPTS)
    seg = corpus_stats(s, folder, mode="segments", segment=30, warmup=10**6, **OPTS)
    short = corpus_stats(s, folder, mode="segments", segment=30, warmup=0, **OPTS)
    for name, a in exact.arrays.items():
        if np.issubdtype(a.dtype, np.integer):
            np.testing.assert_array_equal(seg.arrays[name], a, err_msg=name)
        else:
            np.testing.assert_allclose(seg.arrays[name], a, rtol=1e-12, atol=1e-12)
    assert short.tokens == exact.tokens
    assert np.abs(short.arrays["l0.h.sum"] - exact.arrays["l0.h.sum"]).max() > 1e-6


def test_interrupt_and_resume_continue(tmp_path):
    s = char_subject()
    folder = write_texts(tmp_path, TEXTS)
    opts = Options(dtype="float64", batch=2, chunk=5, threads=1, top_k=4, context=2)
    c = open_corpus([folder], "ids", tmp_path / "w", VOCAB, len(VOCAB), 4)
    jobs = make_jobs(c, opts)
    state = tmp_path / "state.npz"
    assert run_jobs(s, c, jobs, opts, state, stop_after=3) is None
    assert state.exists()
    resumed = run_jobs(s, c, jobs, opts, state)
    whole = run_jobs(s, c, jobs, opts)
    assert resumed.tokens == whole.tokens
    for name, a in whole.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[name], a, err_msg=name)


def test_vectors_corpus_and_file_round_trip(tmp_path):
    model = GRUModel.random(3, 5, seed=2)
    x = np.random.default_rng(1).normal(size=(4, 9, 3))
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "s.gruviz-corpus.npz"
    stats = corpus_stats(model, tmp_path / "x.npy", out, dtype="float64", batch=3, chunk=4,
                         threads=1, progress=False)
    tr = run(model, x, dtype=np.float64)
    cell = tr.layers[0][0]
    assert stats.tokens == 36 and stats.meta["documents"] == 4
    np.testing.assert_allclose(stats.arrays["l0.h.sum"], cell.h.reshape(-1, 5).sum(0),
                               atol=1e-12)
    assert "l0.dh.sum" not in stats.arrays and stats.loss() is None
    back = CorpusStats.load(out)
    assert back.belongs_to(model) and not back.belongs_to(GRUModel.random(3, 5, seed=3))
    np.testing.assert_array_equal(back.arrays["l0.z.hist"], stats.arrays["l0.z.hist"])
    assert not (tmp_path / "s.gruviz-corpus.npz.work").exists()


def test_cli_corpus(tmp_path, capsys):
    from gru_viz.cli import main

    folder = write_texts(tmp_path, ["print('hi')\n" * 30])
    out = tmp_path / "s.gruviz-corpus.npz"
    assert main(["corpus", "assets/pysource.pt", str(folder), "--out", str(out),
                 "--threads", "1", "--batch", "4", "--chunk", "64"]) == 0
    said = capsys.readouterr()
    assert "360 tokens" in said.out and "accuracy" in said.out and "100%" in said.err
    stats = CorpusStats.load(out)
    assert stats.meta["has_loss"] and stats.tokens == 360


def test_dask_shards_equal_single_process(tmp_path):
    distributed = pytest.importorskip("distributed")
    from gru_viz.analysis.corpus.cluster import run_on_dask

    s = char_subject(L=2)
    folder = write_texts(tmp_path, TEXTS + ["(x)\n" * 11, "ab\n" * 13])
    single = corpus_stats(s, folder, **OPTS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        sharded = corpus_stats(s, folder, engine="dask", scheduler=cluster.scheduler_address,
                               shards=4, **OPTS)
    assert sharded.meta["shards"] == 4
    assert run_on_dask is not None
    for name, a in single.arrays.items():
        b = sharded.arrays[name]
        if np.issubdtype(a.dtype, np.integer):
            np.testing.assert_array_equal(b, a, err_msg=name)
        else:
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12, err_msg=name)


def test_top_k_ties_go_to_the_earliest_positions_in_any_order():
    """Saturated values tie exactly (z = 1.0 in float32): whichever chunks they come in, the
    index keeps the same positions, the earliest by (document, offset)."""
    import torch

    from gru_viz.analysis.corpus import Accumulator

    s = Subject(GRUModel.random(2, 3, seed=0))
    opts = Options(top_k=4, dtype="float32")
    rng = np.random.default_rng(0)
    v = rng.choice([0.0, 0.5, 1.0], size=(60, 3)).astype(np.float32)
    doc, off = rng.integers(0, 5, 60), rng.permutation(60)
    want = {u: sorted(zip(-v[:, u], doc, off))[:4] for u in range(3)}
    for order in (np.arange(60), rng.permutation(60), np.arange(60)[::-1]):
        acc = Accumulator(s, opts, ChunkEngine(s, "float32", "cpu"))
        for part in np.array_split(order, 3):
            acc._index("l0.z", torch.from_numpy(v[part]), doc[part], off[part])
        got = acc.top["l0.z.top"]
        for u in range(3):
            assert list(zip(-got["value"][u], got["doc"][u], got["offset"][u])) == want[u]
            np.testing.assert_array_equal(got["rows"][u], v[[np.flatnonzero(
                (doc == d) & (off == o))[0] for _, d, o in want[u]]])


def brute_top(v, doc, off, sign, k):
    """Per unit, the k positions of the highest (sign −1: lowest) values by (value, document,
    offset), NaN never: a full sort of every position."""
    out = []
    for u in range(v.shape[1]):
        ok = np.flatnonzero(~np.isnan(v[:, u]))
        order = ok[np.lexsort((off[ok], doc[ok], -sign * v[ok, u]))[:k]]
        out.append(order)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_index_equals_a_brute_force_top_k_with_ties(dtype):
    """Many exact ties (saturated gates, 0.0 and −0.0), a NaN, chunks longer than a block with
    a short last block, positions in no order: every split gives the brute-force list."""
    import torch

    from gru_viz.analysis.corpus import BLOCK, Accumulator

    H, N, k = 5, 7 * BLOCK + 13, 6
    rng = np.random.default_rng(1)
    v = rng.choice([-1.0, -0.5, -0.0, 0.0, 0.5, 1.0], size=(N, H))
    free = rng.random((N, H)) < 0.3
    v[free] = rng.uniform(-1, 1, free.sum())
    v[:, 1] = 1.0  # one unit saturated everywhere: its list is decided by position alone
    v[:, 2] = np.where(rng.random(N) < 0.02, 0.75, 0.25)
    v[BLOCK + 3, 3] = np.nan  # at unit 0's highest value: its row keeps the NaN
    v[BLOCK + 3, 0] = 2.0
    v = v.astype(dtype)
    doc, off = rng.integers(0, 4, N), rng.permutation(N)
    s = Subject(GRUModel.random(2, H, seed=0))
    for parts in (1, 3, 8):
        for order in (np.arange(N), rng.permutation(N)):
            acc = Accumulator(s, Options(top_k=k, dtype=dtype), ChunkEngine(s, dtype, "cpu"))
            for part in np.array_split(order, parts):
                acc._index("l0.z", torch.from_numpy(v[part]), doc[part], off[part],
                           nan=bool(np.isnan(v[part]).any()))
            for name, sign in (("top", 1.0), ("bottom", -1.0)):
                got = acc.top[f"l0.z.{name}"]
                for u, want in enumerate(brute_top(v, doc, off, sign, k)):
                    np.testing.assert_array_equal(got["doc"][u], doc[want])
                    np.testing.assert_array_equal(got["offset"][u], off[want])
                    np.testing.assert_array_equal(got["value"][u], sign * v[want, u])
                    np.testing.assert_array_equal(got["rows"][u], v[want])


def test_job_index_equals_brute_force_on_a_saturated_model(tmp_path):
    """A model whose gates saturate (exact 0 and 1 in float32, ties everywhere): the job's
    index over a small corpus equals the brute-force top-k of every position the job saw
    (the same job with k ≥ its tokens keeps every position)."""
    rng = np.random.default_rng(3)
    s = char_subject(H=6)
    s = Subject(s.model.map(lambda w: w.replace(**{n: getattr(w, n) * 40 for n in
                                                   ("W_ir", "W_iz", "W_hz", "W_hr")})),
                s.embedding, s.head_weight, s.head_bias, VOCAB)
    texts = ["".join(rng.choice(list("ab()\n x"), 150)) for _ in range(4)]
    folder = write_texts(tmp_path, texts)
    opts = dict(dtype="float32", batch=3, chunk=37, threads=1, context=0, progress=False)
    every = corpus_stats(s, folder, top_k=600, **opts)
    stats = corpus_stats(s, folder, top_k=5, **opts)
    for f in ("z", "r", "h"):
        a = every.arrays
        doc, off = a[f"l0.{f}.top.doc"][0], a[f"l0.{f}.top.offset"][0]
        assert (doc >= 0).all()  # every position kept
        v = a[f"l0.{f}.top.rows"][0]
        assert (v == 1.0).any() or f == "h"
        if f in ("z", "r"):  # saturation counts at exact 0 and 1, float32
            np.testing.assert_array_equal(stats.get(0, 0, f"{f}.below"), (v < 0.1).sum(0))
            np.testing.assert_array_equal(stats.get(0, 0, f"{f}.above"), (v > 0.9).sum(0))
        for name, sign in (("top", 1.0), ("bottom", -1.0)):
            for u, want in enumerate(brute_top(v, doc, off, sign, 5)):
                t = stats.top(0, 0, f, u, name)
                np.testing.assert_array_equal(t.doc, doc[want])
                np.testing.assert_array_equal(t.offset, off[want])


def test_no_index_with_top_k_0(tmp_path):
    s = char_subject()
    folder = write_texts(tmp_path, TEXTS[:2])
    out = tmp_path / "s.gruviz-corpus.npz"
    plain = corpus_stats(s, folder, out, top_k=0, **{k: v for k, v in OPTS.items()
                                                     if k != "top_k"})
    full = corpus_stats(s, folder, **OPTS)
    assert not any(".top." in n for n in plain.arrays)
    for name, a in plain.arrays.items():
        np.testing.assert_array_equal(a, full.arrays[name], err_msg=name)
    assert CorpusStats.load(out).meta["options"]["top_k"] == 0


def test_ctrl_c_keeps_the_state_and_the_same_call_continues(tmp_path):
    s = char_subject()
    folder = write_texts(tmp_path, TEXTS)
    out = tmp_path / "s.gruviz-corpus.npz"
    opts = {k: v for k, v in OPTS.items() if k != "progress"} | {"batch": 2, "chunk": 5}
    seen = []

    def interrupt(done):
        seen.append(done)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        corpus_stats(s, folder, out, progress=interrupt, **opts)
    assert (tmp_path / "s.gruviz-corpus.npz.partial.npz").exists() and not out.exists()
    first = []
    resumed = corpus_stats(s, folder, out, progress=first.append, **opts)
    assert first[0] > seen[3]  # it went on from where it stopped
    assert not (tmp_path / "s.gruviz-corpus.npz.partial.npz").exists()
    whole = corpus_stats(s, folder, progress=False, **opts)
    for name, a in whole.arrays.items():
        np.testing.assert_array_equal(resumed.arrays[name], a, err_msg=name)


@pytest.mark.parametrize("reset_after", [True, False])
def test_bidirectional_documents_run_whole_and_equal_full_traces(tmp_path, reset_after):
    s = char_subject(L=2, reset_after=reset_after, bi=True)
    folder = write_texts(tmp_path, TEXTS)
    stats = corpus_stats(s, folder, **OPTS)
    docs = [VOCAB.encode(t) for t in TEXTS]
    assert stats.meta["directions"] == 2 and stats.loss() is None
    check_against(stats, reference(s, docs, Options(**{k: v for k, v in OPTS.items()
                                                       if k != "progress"})), 6)
    with pytest.raises(Exception, match="exact"):
        corpus_stats(s, folder, mode="segments", **OPTS)
