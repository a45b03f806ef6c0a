"""The corpus job's speed against torch.nn.GRU's forward alone, and its memory in corpus size.

    python benchmarks/bench_corpus.py                 # ratio at H = 128, batch 64, CPU
    python benchmarks/bench_corpus.py --memory 1e6 4e6  # peak memory of whole jobs
    python benchmarks/bench_corpus.py --whole 1e6     # a whole job against nn.GRU, end to end

Throughput: the same model (assets/pysource.pt, H = 128, a head) reads the same batches
(``--batch`` streams of ``--chunk`` steps, the state carried), once through ``nn.GRU`` alone
(states only) and once through the whole job step (states, every gate recomputed, every
statistic accumulated). Both are timed in the same run, alternating, medians of
``--repeat``; the ratio is job tokens/s over nn.GRU tokens/s. The job steps start from an
empty index (or, with ``--warm``, one that has seen the same chunks: its lists then take in
copies of their own entries), so ``--whole`` is the measure of a whole job. A GPU is used
when present (``--device``).

Whole job: ``corpus_stats`` (default options but ``--mode segments``, so that one long
document runs as ``--batch`` streams) over N characters of Python source, against nn.GRU's
forward over the same tokens in the same (batch, chunk) shape; alternating, medians of
``--repeat``, wall and process CPU time (on a loaded machine the CPU time is the steadier one;
with one thread both measure the same work), with the load average.

Memory: each size runs as a fresh process (``python -m gru_viz corpus``) on a text corpus of
that many characters of Python source; its peak resident memory is printed per size.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def source_text(n: int) -> str:
    """n characters of Python source (the standard library's own files, repeated)."""
    files = sorted(glob.glob(str(Path(np.__file__).parent.parent / "json" / "*.py")))
    files += sorted(glob.glob(str(Path(argparse.__file__).parent / "*.py")))[:40]
    text = "".join(Path(f).read_text(errors="ignore") for f in files)
    return (text * (n // max(len(text), 1) + 1))[:n]


def reference_gru(subject, device):
    """torch.nn.GRU (batch first) with the subject's first layer: the reference."""
    import torch

    m = subject.model
    gru = torch.nn.GRU(m.input_size, m.hidden_size, 1, batch_first=True)
    with torch.no_grad():
        for name, a in m.cells[0][0].fused().items():
            getattr(gru, f"{name}_l0").copy_(torch.as_tensor(np.array(a)))
    return gru.to(device).float()


def throughput(args) -> None:
    import torch

    from gru_viz.analysis.corpus import (
        Accumulator,
        ChunkEngine,
        Options,
        pick_device,
        subject_of,
    )
    from gru_viz.io.checkpoint import load_checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    subject = subject_of(load_checkpoint(ROOT / "assets" / "pysource.pt"))
    device = pick_device(args.device)
    opts = Options(batch=args.batch, chunk=args.chunk, device=device)
    B, T, H = args.batch, args.chunk, subject.model.hidden_size
    vocab = subject.vocabulary
    text = "".join(c for c in source_text(B * T * args.chunks) if c in set(vocab.symbols))
    ids = vocab.encode(text[: B * T * args.chunks]).reshape(B, args.chunks * T)
    engines = {r: ChunkEngine(subject, "float32", device, r) for r in ("loop", "fused")}
    engine, gru = engines["fused"], reference_gru(subject, device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def gru_alone():
        h = torch.zeros(1, B, H, device=engine.device)
        with torch.no_grad():
            for c in range(args.chunks):
                x = engine.inputs(ids[:, c * T:(c + 1) * T].T).transpose(0, 1)
                _, h = gru(x, h)
        sync()

    warmed: dict = {}

    def job(engine, opts=opts, chunks=None, base=0):
        """The job's step over the batches; with --warm W, continuing an accumulator that has
        already seen W chunks (a long job's index, whose thresholds have risen)."""
        key = (id(engine), opts.top_k)
        if chunks is None and args.warm and key not in warmed:
            warmed[key] = None
            warmed[key] = job(engine, opts, args.warm, 10**7)
        acc = warmed.get(key) or Accumulator(subject, opts, engine)
        h = torch.zeros(1, B, H, device=engine.device)
        rows = np.arange(T * B)  # time-major, as the engine's records
        doc = np.tile(np.arange(B), T)
        loss_rows = rows[rows >= B]
        for c in range(chunks or args.chunks):
            c0 = c % args.chunks
            tok = np.ascontiguousarray(ids[:, c0 * T:(c0 + 1) * T].T)
            off = np.repeat(np.arange(T) + base + c * T, B)
            t = torch.from_numpy(tok.reshape(-1)).to(engine.device)
            layers, h = engine.run(engine.inputs(tok), h, t)
            acc.add(layers, t, rows, doc, off, loss_rows, engine.logits)
        acc.arrays()
        sync()
        return acc

    def record(engine):  # the recording alone, no statistics
        h = torch.zeros(1, B, H, device=engine.device)
        for c in range(args.chunks):
            tok = np.ascontiguousarray(ids[:, c * T:(c + 1) * T].T)
            t = torch.from_numpy(tok.reshape(-1)).to(engine.device)
            _, h = engine.run(engine.inputs(tok), h, t)
        sync()

    runs = {"nn.GRU forward alone": gru_alone}
    plain = Options(batch=args.batch, chunk=args.chunk, device=device, top_k=0)
    for r, e in engines.items():
        runs[f"{r}: recording every gate"] = lambda e=e: record(e)
        runs[f"{r}: the whole job step"] = lambda e=e: job(e)
        runs[f"{r}: the job, --top-k 0"] = lambda e=e: job(e, plain)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():  # warm-up (and with --warm, the accumulators' first chunks)
        fn()
    for _ in range(args.repeat):  # alternating, so that load changes hit every variant
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    best = {name: float(np.median(ts)) for name, ts in times.items()}
    tokens = B * T * args.chunks
    g = tokens / best["nn.GRU forward alone"]
    print(f"device {device}, threads {torch.get_num_threads()}, H {H}, batch {B}, chunk {T}, "
          f"{tokens:,} tokens, medians of {args.repeat}, load average "
          f"{os.getloadavg()[0]:.1f}"
          + (f", the job's statistics warmed on {args.warm} chunks" if args.warm else ""))
    for name, t in best.items():
        print(f"{name:34s} {tokens / t:>10,.0f} tokens/s  ratio to nn.GRU {tokens / t / g:.2f}")
    auto = engines["loop" if device == "cpu" else "fused"].recorder
    ratio = tokens / best[f"{auto}: the whole job step"] / g
    plain_ratio = tokens / best[f"{auto}: the job, --top-k 0"] / g
    print(f"ratio job / nn.GRU ({auto}, the default here): {ratio:.2f}, without the index of "
          f"positions {plain_ratio:.2f}  (goal >= 0.5)")


# the job in a fresh process that prints its own peak resident memory (kB) last on stderr
PEAK = ("import resource, runpy, sys\n"
        "sys.argv = ['gru_viz'] + sys.argv[1:]\n"
        "try:\n    runpy.run_module('gru_viz', run_name='__main__')\n"
        "finally:\n    print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " file=sys.stderr)\n")


def memory(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    for n in args.memory:
        n = int(float(n))
        folder = tmp / f"c{n}"
        folder.mkdir()
        (folder / "corpus.py").write_text(source_text(n))
        cmd = [sys.executable, "-c", PEAK, "corpus", str(ROOT / "assets" / "pysource.pt"),
               str(folder), "--out", str(tmp / f"s{n}.gruviz-corpus.npz"), "--mode",
               "segments", "--batch", str(args.batch), "--chunk", str(args.chunk)]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        took = time.perf_counter() - t0
        if done.returncode:
            print(done.stderr[-2000:])
            raise SystemExit(done.returncode)
        peak = int(done.stderr.strip().splitlines()[-1].split()[-1])
        print(f"{n:>12,} tokens: peak RSS {peak / 1024:.0f} MB, {took:.0f} s, "
              f"{done.stdout.strip().splitlines()[0]}", flush=True)


def whole(args) -> None:
    import torch

    from gru_viz.analysis.corpus import corpus_stats, pick_device, subject_of
    from gru_viz.io.checkpoint import load_checkpoint

    if args.threads:
        torch.set_num_threads(args.threads)
    n = int(float(args.whole))
    ckpt = load_checkpoint(ROOT / "assets" / "pysource.pt")
    subject, device = subject_of(ckpt), pick_device(args.device)
    vocab, B, T = subject.vocabulary, args.batch, args.chunk
    text = "".join(c for c in source_text(2 * n) if c in set(vocab.symbols))[:n]
    folder = Path(tempfile.mkdtemp(prefix="bench-corpus-"))
    (folder / "corpus.py").write_text(text)
    gru = reference_gru(subject, device)
    ids = vocab.encode(text)[: n // B * B].reshape(B, -1)

    def gru_alone():
        h = torch.zeros(1, B, subject.model.hidden_size, device=device)
        with torch.no_grad():
            for c in range(0, ids.shape[1], T):
                x = torch.nn.functional.one_hot(torch.from_numpy(ids[:, c:c + T]).to(device),
                                                subject.model.input_size).float() \
                    if ckpt.embedding is None else torch.from_numpy(
                        ckpt.embedding[ids[:, c:c + T]]).float().to(device)
                _, h = gru(x, h)

    def job(**kw):
        corpus_stats(ckpt, folder, mode="segments", batch=B, chunk=T, device=device,
                     threads=args.threads, progress=False, **kw)

    runs = {"nn.GRU forward alone": gru_alone, "whole job (index on)": job,
            "whole job, --top-k 0": lambda: job(top_k=0)}
    wall, cpu = ({k: [] for k in runs} for _ in range(2))
    loads = []
    for _ in range(args.repeat):
        for name, fn in runs.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
        loads.append(os.getloadavg()[0])
    print(f"device {device}, threads {torch.get_num_threads()}, H "
          f"{subject.model.hidden_size}, batch {B}, chunk {T}, {n:,} tokens, medians of "
          f"{args.repeat}, load average {min(loads):.1f}-{max(loads):.1f}")
    g = {m: np.median(d["nn.GRU forward alone"]) for m, d in (("wall", wall), ("cpu", cpu))}
    for name in runs:
        w, c = np.median(wall[name]), np.median(cpu[name])
        print(f"{name:24s} wall {w:7.2f} s  ratio {g['wall'] / w:.2f}   "
              f"CPU {c:7.2f} s  ratio {g['cpu'] / c:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--chunk", type=int, default=256)
    p.add_argument("--chunks", type=int, default=8, help="chunks per timed pass")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warm", type=int, default=0,
                   help="chunks each job variant accumulates before it is timed (a long job)")
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="auto")
    p.add_argument("--memory", nargs="*", help="corpus sizes in tokens, e.g. 1e6 4e6")
    p.add_argument("--whole", help="tokens of a whole job timed end to end, e.g. 1e6")
    args = p.parse_args()
    if args.memory:
        memory(args)
    elif args.whole:
        whole(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
