"""The explorer's input, read the way the model reads input, and its run, cached exactly.

Text goes through the vocabulary (unknown characters are reported and skipped); token ids when
there is an embedding but no vocabulary; numeric rows, CSV or NPY when the model takes vectors.
The run is cached by the model's content key and a hash of the exact input. The typed text is
kept per model in a permanent session key, so it survives a visit to another page.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import streamlit as st

from gru_viz.api import checkpoint_input, readout
from gru_viz.core import budget
from gru_viz.core.engine import run
from gru_viz.core.errors import GRUVizError
from gru_viz.core.limits import server_limits
from gru_viz.core.trace import Trace
from gru_viz.core.untrusted import md
from gru_viz.figures.textcolor import display_token
from gru_viz.figures.traces import step_labels
from gru_viz.io.checkpoint import Checkpoint
from gru_viz.io.inputs import first_rows, format_rows, parse_ids, read_csv, read_npy
from gru_viz.ui.explorer_model import Loaded
from gru_viz.ui.state import Explorer, Slot
from gru_viz.ui.uploads import upload as upload_file

WIDE = 64  # input sizes above this get no default text: an empty box runs default_rows
MAX_ROWS_CHARS = 400_000  # numbers typed in the box (wider inputs: a CSV or NPY file)
SAMPLES = ("def area(r):\n    return 3.14 * r ** 2\n", "([()[]])(([[]])[([])])((")


# x (T, I), symbols, ids, h0 (L·D, H) or None (zeros)
Input = tuple[np.ndarray, list[str] | None, np.ndarray | None, np.ndarray | None]
OWN = "type my own input"


@dataclass(frozen=True, eq=False)
class Run:
    """One input run through the model in use."""

    model_key: str  # the Loaded's key
    key: str  # model key + input hash
    x: np.ndarray  # (T, I)
    tokens: list[str]  # displayable label per step
    symbols: list[str] | None  # the raw symbols read (text/ids input), else None
    ids: np.ndarray | None  # (T,) token ids, else None
    trace: Trace
    probs: np.ndarray | None  # (T, V') next-symbol probabilities, else None
    head: np.ndarray | None  # (T, V') head outputs, else None
    running_text: bool  # the symbols are characters of a text (joined without spaces)

    @property
    def text(self) -> list[str]:
        """What to print per step: the raw symbols read, else the step labels."""
        return self.symbols if self.symbols is not None else self.tokens

    def join(self, start: int, stop: int) -> str:
        """Steps [start, stop) as one string, for listing matches."""
        return ("" if self.running_text else " ").join(self.text[start:stop])


def input_kind(ckpt: Checkpoint) -> str:
    if ckpt.vocabulary is not None:
        return "text"
    return "ids" if ckpt.embedding is not None else "vectors"


def symbol_names(ckpt: Checkpoint) -> list[str]:
    """Display names of the symbols the model reads (and its head predicts, when they match)."""
    if ckpt.vocabulary is not None:
        return [display_token(s) for s in ckpt.vocabulary.symbols]
    n = ckpt.embedding.shape[0] if ckpt.embedding is not None else ckpt.model.input_size
    return [str(i) for i in range(n)]


def default_input(ckpt: Checkpoint) -> str:
    kind = input_kind(ckpt)
    if kind == "text":
        known = set(ckpt.vocabulary.symbols)
        return next((s for s in SAMPLES if set(s) <= known), "".join(ckpt.vocabulary.symbols[:16]))
    if kind == "ids":
        return " ".join(str(i % ckpt.embedding.shape[0]) for i in range(12))
    if ckpt.model.input_size > WIDE:  # 40 rows of 100,000 numbers: a 69 MB text box
        return ""
    return format_rows(default_rows(ckpt.model.input_size))


def default_rows(input_size: int) -> np.ndarray:
    """40 steps of pulses of alternating sign, cycling channels."""
    x = np.zeros((40, input_size))
    for k, t in enumerate(range(2, 40, 7)):
        x[t, k % x.shape[1]] = 1.0 if k % 2 == 0 else -1.0
    return x


def max_chars(kind: str, most: int) -> int:
    """What the input box takes: enough for ``most`` steps, far from megabytes of text."""
    return {"text": 4 * most, "ids": 8 * most}.get(kind, MAX_ROWS_CHARS)


def _skip_unknown(ckpt: Checkpoint, text: str) -> str:
    known = set(ckpt.vocabulary.symbols)
    unknown = sorted({c for c in text if c not in known})
    if unknown:
        st.warning(md("Not in the vocabulary, skipped: {} ({:d} character(s)).",
                      ", ".join(repr(c) for c in unknown[:50]) + (" …" if len(unknown) > 50
                                                                  else ""),
                      sum(c not in known for c in text)))
    return "".join(c for c in text if c in known)


def read_input(loaded: Loaded, box: str = "input", label: str = "Input",
               default: str | None = None) -> Input | None:
    """Widgets for one input; (x (T, I), symbols or None, ids or None, h0 or None), or None
    after an error message. A capture file offers the sequences its GRU really received."""
    ckpt = loaded.ckpt
    kind = input_kind(ckpt)
    kept = Explorer.input(loaded.key, box)
    if ckpt.capture is not None:
        got = _captured(ckpt, kept)
        if got is not None:
            return got
    hints = {"text": f"text over the model's {len(ckpt.vocabulary or ())} symbols",
             "ids": f"token ids 0..{len(symbol_names(ckpt)) - 1}, split by spaces",
             "vectors": f"one step per row, rows split by ';' or new lines, "
                        f"{ckpt.model.input_size} number(s) each"}
    # Bound to a permanent key: Streamlit drops a widget's own state when another page runs.
    most = server_limits().max_steps
    text = st.text_area(md("{}: {}", label, hints[kind]),
                        key=kept.bind(default or default_input(ckpt)),
                        on_change=kept.store, height=100,
                        max_chars=max_chars(kind, most))
    text = text[:max_chars(kind, most)]  # however it got in: bounded before any parsing
    upload = None
    if kind == "vectors":
        upload = upload_file("…or a CSV or NPY file (one step a row)", type=["csv", "npy"],
                             key=Explorer.input_file(kept))
    try:
        x, symbols, ids, cut = _parse(ckpt, kind, text, upload, most)
    except GRUVizError as exc:
        st.error(md("{} Fix the input to update the views.", exc))
        return None
    if len(x) > most or cut:
        steps = f"{len(x) if len(x) > most else cut}" if cut is not True else f"over {most}"
        st.info(md("The input has {} steps; the first {:d} are run (this server's limit, "
                   "GRUVIZ_MAX_STEPS).", steps, most))
        x, symbols = x[:most], None if symbols is None else symbols[:most]
        ids = None if ids is None else ids[:most]
    return np.asarray(x), None if symbols is None else list(symbols), ids, None


def _parse(ckpt: Checkpoint, kind: str, text: str, upload, most: int
           ) -> tuple[np.ndarray, list | None, list | None, bool | int]:
    """(x, symbols or None, ids or None, cut) of the box or the uploaded file; ``cut`` is False,
    True or the step count when the text went past ``most`` steps. GRUVizError when empty."""
    cut = False
    if upload is not None:
        data, I = upload.data, ckpt.model.input_size
        x = read_npy(data, I) if upload.name.endswith(".npy") else read_csv(data, I)
        symbols, ids = None, None
    elif kind == "vectors" and not text.strip() and ckpt.model.input_size > WIDE:
        st.caption(f"An empty box runs {len(default_rows(1)):d} steps of pulses; for your own "
                   "input of this width, upload a CSV or NPY file.")
        x, symbols, ids = default_rows(ckpt.model.input_size), None, None
    elif kind == "vectors":
        rows, cut = first_rows(text, most)
        x, symbols = checkpoint_input(ckpt, rows=rows)
        ids = None
    elif kind == "ids":
        ids = parse_ids(text, len(symbol_names(ckpt)))
        x, symbols = checkpoint_input(ckpt, ids=ids)
    else:
        known = _skip_unknown(ckpt, text)
        cut = len(known) if len(known) > most else False
        x, symbols = checkpoint_input(ckpt, text=known[:most])  # cut before encoding
        ids = ckpt.vocabulary.encode(symbols)
    if len(x) == 0:
        raise GRUVizError("The input is empty: give at least one step.")
    return x, symbols, ids, cut


def _captured(ckpt: Checkpoint, box: Slot[str]) -> Input | None:
    """A selectbox of the captured sequences; the chosen one (x, tokens, None, h0), or None
    when the user types their own input instead."""
    cap = ckpt.capture
    lengths = [int(n) for n in cap["lengths"]]
    options = list(range(len(lengths))) + [OWN]
    chosen = Explorer.captured(box)
    choice = st.selectbox("Input", options, key=chosen.bind(0), on_change=chosen.store,
                          format_func=lambda b: b if b == OWN else
                          f"captured sequence {b} ({lengths[b]} steps)",
                          help="The inputs this GRU received when it was recorded, from the "
                               "state it started in.")
    if choice == OWN:
        return None
    L = lengths[choice]
    x = np.asarray(cap["x"][choice, :L])
    tokens = cap.get("tokens")
    symbols = None if tokens is None else [str(s) for s in tokens[choice, :L]]
    return x, symbols, None, np.asarray(cap["h0"][:, choice])


def input_key(x: np.ndarray, ids: np.ndarray | None, h0: np.ndarray | None = None) -> str:
    """An exact hash of the input (every byte, shape and dtype) and of h0 when given."""
    h = hashlib.sha256(repr((x.shape, str(x.dtype))).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    if ids is not None:
        h.update(np.ascontiguousarray(ids, np.int64).tobytes())
    if h0 is not None:
        h.update(b"h0" + np.ascontiguousarray(h0, np.float64).tobytes())
    return h.hexdigest()


# A Trace is frozen and its arrays read-only, so one copy is shared rather than pickled and
# unpickled on every rerun as st.cache_data would. A trace may take up to GRUVIZ_MAX_TRACE_MB:
# the process keeps traces up to a byte budget for all of them together (not a count).
# Keyed by the exact (model key, input hash), never by the arrays.
TRACES = budget.ByteCache()
HEAVY_RUN = 2e8  # T·H·(I + H)·cells above which a run waits for a heavy-job slot


def _run(model_key: str, input_key: str, _ckpt: Checkpoint, _x: np.ndarray, symbolic: bool,
         _h0: np.ndarray | None = None) -> tuple[Trace, np.ndarray | None, np.ndarray | None]:
    """The trace and head outputs (read-only); next-symbol probabilities only when the input
    was symbols and the head has one output per symbol (as ``api.run_checkpoint``). ``_h0``
    is part of ``input_key``."""
    if _ckpt.head_weight is not None:  # (T, V) head outputs and probabilities, before the run
        V = int(np.shape(_ckpt.head_weight)[0])
        budget.check(f"The head's {V:,} outputs at {len(_x):,} steps", 0,
                     2 * 8 * len(_x) * V, f"Shorten the input to at most about "
                     f"{max(1, int(budget.MAX_BYTES // (16 * V))):,} steps.")

    def compute():
        m = _ckpt.model
        work = len(_x) * m.hidden_size * (m.input_size + m.hidden_size) * m.num_layers \
            * m.num_directions
        with st.spinner("Running the model…"), (budget.heavy() if work > HEAVY_RUN
                                                  else nullcontext()):
            trace = run(m, _x, _h0, limits=server_limits())
            return (trace, *readout(_ckpt, trace.output, symbolic))
    return TRACES.get((model_key, input_key, symbolic), compute, budget.nbytes)


def make_run(loaded: Loaded, x: np.ndarray, symbols: list[str] | None,
             ids: np.ndarray | None, h0: np.ndarray | None = None) -> Run:
    ikey = input_key(x, ids, h0)
    trace, head, probs = _run(loaded.key, ikey, loaded.ckpt, x, symbols is not None, h0)
    tokens = [display_token(s) for s in symbols] if symbols is not None else step_labels(x)
    return Run(loaded.key, f"{loaded.key}|{ikey}", x, tokens, symbols, ids, trace, probs, head,
               symbols is not None and loaded.ckpt.vocabulary is not None)
