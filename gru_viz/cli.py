"""``python -m gru_viz``: inspect a checkpoint, record a trace to a file, train the examples."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gru_viz.core.errors import GRUVizError
from gru_viz.core.notation import NOTATIONS
from gru_viz.io.inputs import parse_ids

FORMATS = (".npz", ".csv", ".json", ".html")


def _inspect(args: argparse.Namespace) -> None:
    from gru_viz.io.checkpoint import load_checkpoint

    ckpt = load_checkpoint(args.file, gru=args.gru)
    if args.json:
        print(json.dumps(ckpt.description | {"detected": ckpt.summary()}, indent=1,
                         ensure_ascii=False))
        return
    print("\n".join(ckpt.summary()))
    desc = ckpt.description
    for key in ("description", "metrics", "training"):
        if desc.get(key):
            print(f"{key.capitalize()}:")
            for k, v in desc[key].items():
                print(f"  {k}: {v}")
    print(f"{len(ckpt.tensors)} tensor(s) in {desc['file']} ({desc['container']})")


def _trace(args: argparse.Namespace) -> None:
    from gru_viz.api import trace_checkpoint
    from gru_viz.io.export import to_csv, to_json, to_npz

    out = Path(args.out)
    if out.suffix not in FORMATS:
        raise GRUVizError(f"--out must end in one of {', '.join(FORMATS)}; got {out.name!r}.")
    # the range is checked against the checkpoint's embedding by trace_checkpoint
    ids = None if args.ids is None else parse_ids(args.ids, sys.maxsize)
    rows = args.rows
    if args.input is not None:
        from gru_viz.io.inputs import read_csv, read_npy

        path = Path(args.input)
        if not path.is_file():
            raise GRUVizError(f"--input {str(path)!r} is not a file.")
        rows = (read_npy if path.suffix == ".npy" else read_csv)(path.read_bytes())
    res = trace_checkpoint(args.file, text=args.text, rows=rows, ids=ids, gru=args.gru,
                           dtype="float64" if args.float64 else None)
    for w in res.checkpoint.warnings:
        print(f"warning: {w}", file=sys.stderr)
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
    print(f"{res.trace.steps} step(s), {len(res.trace.cells())} cell(s) written to {out}")
    if res.probs is not None:
        shown = ", ".join(f"{s!r} {p:.2f}" for s, p in res.next_symbols())
        print(f"Next symbol after the input: {shown}")


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
    t.add_argument("--out", required=True, help="output file: " + ", ".join(FORMATS))
    t.add_argument("--gru", help=gru_help)
    t.add_argument("--float64", action="store_true",
                   help="compute in float64 (default: the checkpoint's precision)")
    t.add_argument("--notation", choices=sorted(NOTATIONS), default="pytorch",
                   help="labels of the .html figure: pytorch (z = share of the old state kept) "
                        "or course (Γu = 1 − z, share of the new candidate written)")
    t.set_defaults(func=_trace)

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
        args.func(args)
    except GRUVizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
