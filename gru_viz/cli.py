"""``python -m gru_viz``: inspect a checkpoint, record a trace to a file, train the examples."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gru_viz.core.errors import GRUVizError
from gru_viz.core.notation import NOTATIONS
from gru_viz.core.untrusted import terminal_text
from gru_viz.io.inputs import parse_ids

FORMATS = (".npz", ".csv", ".json", ".html")


def _out(text: object = "", file=None) -> None:
    """Every line the CLI prints: a file's strings may hold escape sequences (clear screen,
    window title, colours) or bidi controls; ``terminal_text`` shows them as <U+XXXX>."""
    print(terminal_text(text), file=file or sys.stdout)


def _inspect(args: argparse.Namespace) -> None:
    from gru_viz.io.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.file, gru=args.gru)
    if args.json:
        _out(json.dumps(ckpt.description | {"detected": ckpt.summary()}, indent=1,
                         ensure_ascii=False))
        return
    _out("\n".join(ckpt.summary()))
    desc = ckpt.description
    for key in ("description", "metrics", "training"):
        if desc.get(key):
            _out(f"{key.capitalize()}:")
            for k, v in desc[key].items():
                _out(f"  {k}: {v}")
    _out(f"{len(ckpt.tensors)} tensor(s) in {desc['file']} ({desc['container']})")


def _input_rows(name: str):
    """--input: numbers from a .csv (one step per row) or a .npy (T, I) file."""
    from gru_viz.io.inputs import read_csv, read_npy

    path = Path(name)
    if not path.is_file():
        raise GRUVizError(f"--input {str(path)!r} is not a file.")
    return (read_npy if path.suffix == ".npy" else read_csv)(path.read_bytes())


def _captured(args: argparse.Namespace):
    """--captured B: the capture file's checkpoint, its sequence B and that sequence's h0."""
    from gru_viz.io.checkpoint import load_checkpoint

    source = load_checkpoint(args.file, gru=args.gru)
    cap = source.capture
    if cap is None:
        raise GRUVizError(f"--captured needs a capture file (recording.save(...)); "
                          f"{Path(args.file).name} is {source.description['container']}.")
    if not 0 <= args.captured < len(cap["lengths"]):
        raise GRUVizError(f"--captured {args.captured}: the capture holds sequences "
                          f"0..{len(cap['lengths']) - 1}.")
    rows = cap["x"][args.captured, :int(cap["lengths"][args.captured])]
    return source, rows, cap["h0"][:, args.captured]


def _trace(args: argparse.Namespace) -> None:
    from gru_viz.api import trace_checkpoint
    from gru_viz.core.limits import server_limits
    from gru_viz.io.export import to_csv, to_json, to_npz

    out = Path(args.out)
    if out.suffix not in FORMATS:
        raise GRUVizError(f"--out must end in one of {', '.join(FORMATS)}; got {out.name!r}.")
    # the range is checked against the checkpoint's embedding by trace_checkpoint
    ids = None if args.ids is None else parse_ids(args.ids, sys.maxsize)
    rows = args.rows if args.input is None else _input_rows(args.input)
    source, h0 = args.file, None
    if args.captured is not None:
        source, rows, h0 = _captured(args)
    res = trace_checkpoint(source, text=args.text, rows=rows, ids=ids, gru=args.gru, h0=h0,
                           dtype="float64" if args.float64 else None, limits=server_limits())
    for w in res.checkpoint.warnings:
        _out(f"warning: {w}", file=sys.stderr)
    desc = res.checkpoint.description | {"detected": res.checkpoint.summary()}
    extras = {k: v for k, v in (("head_output", res.head_output), ("probs", res.probs))
              if v is not None}
    if out.suffix == ".npz":
        out.write_bytes(to_npz(res.trace, desc, res.tokens, extras))
    elif out.suffix == ".json":
        out.write_text(to_json(res.trace, desc, res.tokens, extras))
    elif out.suffix == ".csv":
        out.write_text(to_csv(res.trace, desc, res.tokens))
    else:
        from gru_viz.figures.files import trace_html

        out.write_text(trace_html(res.trace, NOTATIONS[args.notation], res.tokens,
                                  f"{Path(args.file).name}: {res.checkpoint.model.describe()}"),
                       encoding="utf-8")
    _out(f"{res.trace.steps} step(s), {len(res.trace.cells())} cell(s) written to {out}")
    if res.probs is not None:
        shown = ", ".join(f"{s!r} {p:.2f}" for s, p in res.next_symbols())
        _out(f"Next symbol after the input: {shown}")


def _corpus(args: argparse.Namespace) -> int:
    from gru_viz.analysis.corpus import SUFFIX, Options, corpus_stats
    from gru_viz.io.checkpoint import load_checkpoint

    out = Path(args.out)
    if not out.name.endswith(".npz"):
        raise GRUVizError(f"--out must end in .npz (e.g. stats{SUFFIX}); got {out.name!r}.")
    ckpt = load_checkpoint(args.model, gru=args.gru)
    for w in ckpt.warnings:
        _out(f"warning: {terminal_text(w)}", file=sys.stderr)
    opts = Options(batch=args.batch, chunk=args.chunk, mode=args.mode, warmup=args.warmup,
                   segment=args.segment, split=args.split, bins=args.bins, left=args.left,
                   right=args.right, top_k=args.top_k, context=args.context,
                   dtype="float64" if args.float64 else "float32", recorder=args.recorder,
                   device=args.device,
                   threads=args.threads, state_every=args.save_every)
    try:
        stats = corpus_stats(ckpt, args.corpus, out, options=opts, engine=args.engine,
                             scheduler=args.scheduler, shards=args.shards,
                             resume=not args.no_resume)
    except KeyboardInterrupt:
        _out(f"\ninterrupted: the state is saved in {terminal_text(str(out))}.partial.npz; "
              "run the same command again to continue.", file=sys.stderr)
        return 130
    m = stats.meta
    if opts.mode == "exact" and m["documents"] < opts.batch:
        print(f"note: exact mode runs one stream per document, so only {m['documents']} of "
              f"--batch {opts.batch} ran at once; --mode segments runs them all (approximate "
              "at the cuts).", file=sys.stderr)
    _out(f"{stats.tokens:,} tokens in {m['documents']:,} document(s), "
          f"{m['tokens_per_second']:,.0f} tokens/s; statistics written to "
          f"{terminal_text(str(out))}")
    if m.get("skipped"):
        _out(f"{m['skipped']:,} character(s) not in the vocabulary were left out.")
    loss = stats.loss()
    if loss is not None:
        _out(f"Next-symbol loss {loss['loss']:.4f} nats ({loss['bits_per_symbol']:.3f} bits), "
              f"accuracy {loss['accuracy']:.3f} over {loss['positions']:,} positions.")
    return 0


def _train(args: argparse.Namespace) -> None:
    from gru_viz.training.recipes import train

    train(args.name, out=args.out, steps=args.steps, seed=args.seed)


def parser() -> argparse.ArgumentParser:
    from gru_viz.training.recipes import RECIPES  # no torch at import time

    p = argparse.ArgumentParser(prog="python -m gru_viz", description="See inside a GRU from "
                                "the command line. Each subcommand has its own --help.")
    sub = p.add_subparsers(dest="command", required=True)
    gru_help = "which GRU to use when the file holds several (its key prefix, see inspect)"

    i = sub.add_parser("inspect", help="show what a checkpoint holds",
                       description="Load a .pt/.pth/.ckpt/.bin/.safetensors file safely "
                       "(weights only) and print the GRU(s), embedding, head, vocabulary, "
                       "description and warnings that were detected.")
    i.add_argument("file")
    i.add_argument("--gru", help=gru_help)
    i.add_argument("--json", action="store_true", help="print the description as JSON")
    i.set_defaults(func=_inspect)

    t = sub.add_parser("trace", help="run a checkpoint and save every gate to a file",
                       description="Run a checkpoint on one input and record every gate of "
                       "every layer and direction. The format follows --out: .npz (arrays "
                       "named l0.z, l0_reverse.h, ...), .csv (one row per cell, step and "
                       "unit), .json, or .html (a standalone interactive figure).")
    t.add_argument("file")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="characters, encoded with the checkpoint's vocabulary")
    src.add_argument("--rows", help="numbers, one step per row: '0.5, 1; 0, 1; 1, -1'")
    src.add_argument("--ids", help="token ids: '3 1 4'")
    src.add_argument("--input", help="numbers from a .csv (one step per row) or .npy (T, I) file")
    src.add_argument("--captured", type=int, metavar="B",
                     help="a capture file's recorded sequence B, from its recorded h0")
    t.add_argument("--out", required=True, help="output file: " + ", ".join(FORMATS))
    t.add_argument("--gru", help=gru_help)
    t.add_argument("--float64", action="store_true",
                   help="compute in float64 (default: the checkpoint's precision)")
    t.add_argument("--notation", choices=sorted(NOTATIONS), default="pytorch",
                   help="labels of the .html figure: pytorch (z = share of the old state kept) "
                        "or course (Γu = 1 − z, share of the new candidate written)")
    t.set_defaults(func=_trace)

    c = sub.add_parser("corpus", help="statistics of every unit over a whole corpus",
                       description="Run a checkpoint over a corpus (text files, a folder of "
                       "them, or .npy sequences) in batches with bounded memory and save, per "
                       "layer and unit: saturation, value histograms, mean and spread, the "
                       "expected response to each symbol, next-symbol loss and accuracy (with "
                       "a head), and where each unit is highest and lowest. The explorer "
                       "opens the file next to its model. Ctrl-C saves the state; the same "
                       "command resumes.")
    c.add_argument("model", help="checkpoint file")
    c.add_argument("corpus", nargs="+", help="text files, folders of them, or .npy files")
    c.add_argument("--out", required=True, help="statistics file, e.g. stats.gruviz-corpus.npz")
    c.add_argument("--gru", help=gru_help)
    c.add_argument("--split", choices=("file", "line", "none"), default="file",
                   help="where documents end (the state restarts from 0): each file "
                   "(default; newlines are tokens like any other), each line, or nowhere")
    c.add_argument("--mode", choices=("exact", "segments"), default="exact",
                   help="exact (default): each document is one stream, its state carried "
                   "to its end; segments: documents cut into --batch parallel pieces, each "
                   "started --warmup tokens early from h0 = 0 (approximate at the cuts)")
    c.add_argument("--batch", type=int, default=64, help="streams run at once (default 64)")
    c.add_argument("--chunk", type=int, default=256, help="steps per chunk (default 256)")
    c.add_argument("--warmup", type=int, default=128,
                   help="segments mode: tokens run before each segment, not counted")
    c.add_argument("--segment", type=int, help="segments mode: segment length in tokens")
    c.add_argument("--bins", type=int, default=20, help="histogram bins (default 20)")
    c.add_argument("--left", type=float, default=0.1, help="left saturation below (0.1)")
    c.add_argument("--right", type=float, default=0.9, help="right saturation above (0.9)")
    c.add_argument("--top-k", type=int, default=16,
                   help="positions kept per unit where it is highest and lowest (16; 0: no "
                   "index, about twice as fast)")
    c.add_argument("--context", type=int, default=12, help="tokens kept each side of those")
    c.add_argument("--float64", action="store_true", help="compute in float64")
    c.add_argument("--recorder", choices=("auto", "loop", "fused"), default="auto",
                   help="loop: a torch loop writing every gate (the CPU default); fused: "
                   "nn.GRU's kernel, then all gates recomputed in whole-chunk products (the "
                   "GPU default; reset-before and bidirectional models always loop)")
    c.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda")
    c.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    c.add_argument("--engine", choices=("local", "dask"), default="local",
                   help="local (default) or dask: shards on a Dask cluster")
    c.add_argument("--scheduler", help="dask: the scheduler address, e.g. tcp://host:8786 "
                   "(default: a local cluster)")
    c.add_argument("--shards", type=int, help="dask: number of shards (default 4 per worker)")
    c.add_argument("--save-every", type=float, default=60.0,
                   help="seconds between saves of the resumable state (default 60)")
    c.add_argument("--no-resume", action="store_true",
                   help="ignore and overwrite a saved state")
    c.set_defaults(func=_corpus)

    r = sub.add_parser("train", help="train one of the shipped example models",
                       description="Train an example model on CPU with fixed seeds and save "
                       "it with its description and metrics. Recipes: " + "; ".join(
                           f"{n}: {rec.summary}" for n, rec in RECIPES.items()))
    r.add_argument("name", choices=sorted(RECIPES))
    r.add_argument("--out", help="where to save (default: assets/NAME.pt)")
    r.add_argument("--steps", type=int, help="training steps (default: the recipe's)")
    r.add_argument("--seed", type=int, help="random seed (default: the recipe's)")
    r.set_defaults(func=_train)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
    except GRUVizError as exc:
        _out(f"error: {exc}", file=sys.stderr)
        return 2
    return code or 0
