"""Record the GRUs inside a live torch module on the inputs they really receive.

``record(module, *args, **kwargs)`` runs ``module(*args, **kwargs)`` once under
``torch.no_grad()`` with forward hooks on every ``nn.GRU`` and ``nn.GRUCell`` inside it
(nested, wrapped in ``DataParallel`` or a Lightning module), then replays each one in gru-viz's
NumPy core on exactly the input and h0 it received, and checks our ``h`` against what the
module itself returned. The module is not changed: no parameter, buffer or mode is touched
(hooks are removed afterwards, even when the forward raises).

Per GRU, ``RecordedGRU`` holds the module path, a ``GRUModel`` of its weights, the inputs
(batch-major, padding zeroed), each sequence's length, h0, the module's own output, our
``Trace`` and the largest difference between the two. A ``PackedSequence`` is recorded
sequence by sequence, each to its own length (never the padding); a ``GRUCell`` called in a
Python loop is gathered into one sequence per call site, in call order.

torch is imported only when ``record`` runs.
"""

from __future__ import annotations

import os
import sys
import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gru_viz.core.engine import run
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel
from gru_viz.core.summary import Summarised, Summary
from gru_viz.core.trace import Trace

TOLERANCE = 1e-5  # float32: our float64 replay vs the module's own h


@dataclass(frozen=True, eq=False, repr=False)
class RecordedGRU(Summarised):
    """One GRU (or one GRUCell call site) of a recorded module.

    path       module path inside the recorded module ("" for the module itself), plus
               `` @ file:line`` for a GRUCell call site and `` [call k]`` for repeated calls
    kind       "GRU" or "GRUCell"
    model      its weights (the module's dtype)
    x          (B, T, I) the inputs it received, batch-major; steps past a sequence's
               length are zeros (padding that was never run)
    lengths    (B,) steps of each sequence
    h0         (L·D, B, H) the initial state it started from (zeros when none was given)
    output     (B, T, D·H) what the module returned (zeros past each length)
    h_n        (L·D, B, H) the module's final state
    trace      our Trace of the whole batch, (B, T, ...), when all lengths are equal; else None
    sequences  our Trace of each sequence to its own length, unbatched (T_b, ...), when the
               lengths differ; else empty (use ``sequence(b)`` either way)
    max_error  largest |our h − the module's h| over every real step and h_n
    """

    path: str
    kind: str
    model: GRUModel
    x: np.ndarray
    lengths: np.ndarray
    h0: np.ndarray
    output: np.ndarray
    h_n: np.ndarray
    trace: Trace | None
    sequences: tuple[Trace, ...]
    max_error: float

    @property
    def batch(self) -> int:
        return self.x.shape[0]

    @property
    def matches(self) -> bool:
        """Whether our h equals the module's to float32 precision (1e-5)."""
        return self.max_error <= TOLERANCE

    def sequence(self, b: int = 0) -> Trace:
        """Our trace of sequence ``b`` alone, to its own length: fields (T_b, H)."""
        if self.trace is None:
            return self.sequences[b]
        if not 0 <= b < self.batch:
            raise IndexError(f"sequence {b} of {self.batch}")
        return run(self.model, self.x[b], self.h0[:, b], dtype=self.trace.output.dtype)

    # --- notebook display (issue 14): summaries and the app's figures ---------------------

    def summary(self) -> Summary:
        """Path, sizes, lengths and the check against the module (never the arrays)."""
        lengths = sorted({int(n) for n in self.lengths})
        rows = [("module path", self.path or "(the module itself)"), ("kind", self.kind),
                ("model", self.model.describe()), ("batch", f"{self.batch} sequence(s)"),
                ("steps", ", ".join(map(str, lengths[:6])) + (" …" if len(lengths) > 6 else "")),
                ("check", f"max |h − module's h| = {self.max_error:.1e}"
                 + (" (matches)" if self.matches else " (DIFFERS)"))]
        warn = [] if self.matches else [f"{self.path or 'the module'}: our states differ from "
                                        f"the module's by {self.max_error:.1e}"]
        return Summary(f"Recorded {self.kind}", rows, warn)

    def _traced(self, sequence: int) -> tuple[Trace, int | None]:
        """(trace, sequence index into it) of one sequence: the batch trace when all lengths
        are equal, else that sequence's own."""
        if self.trace is not None:
            return self.trace, sequence
        return self.sequences[sequence], None

    def heatmaps(self, layer: int | str = 0, direction: int | str = 0,
                 notation: str = "pytorch", tokens: Sequence[object] | None = None, *,
                 sequence: int = 0, **options):
        """The app's four gate heatmaps of one sequence (see ``Trace.heatmaps``)."""
        trace, b = self._traced(sequence)
        return trace.heatmaps(layer, direction, notation, _steps(tokens, trace, b),
                              sequence=b, **options)

    def lines(self, units, layer: int = 0, direction: int = 0, notation: str = "pytorch",
              tokens: Sequence[object] | None = None, *, sequence: int = 0, **options):
        """The app's unit lines of one sequence (see ``Trace.lines``)."""
        trace, b = self._traced(sequence)
        return trace.lines(units, layer, direction, notation, _steps(tokens, trace, b),
                           sequence=b, **options)

    def saturation(self, notation: str = "pytorch", *, sequence: int = 0, **options):
        """The app's saturation scatter of one sequence (see ``Trace.saturation``)."""
        trace, b = self._traced(sequence)
        return trace.saturation(notation, sequence=b, **options)


@dataclass(frozen=True, eq=False, repr=False)
class Recording(Summarised):
    """Every GRU a module ran, in the order they first ran (``grus``), and what was given.

    tokens       (B, T) labels of the steps, when given to ``record``; else None
    description  free text saved with the capture
    warnings     training mode, mismatches, GRUs found but never called
    """

    grus: tuple[RecordedGRU, ...]
    tokens: np.ndarray | None = None
    description: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(g.path for g in self.grus)

    def __getitem__(self, key: int | str) -> RecordedGRU:
        if isinstance(key, int):
            return self.grus[key]
        for g in self.grus:
            if g.path == key:
                return g
        raise KeyError(f"No recorded GRU at {key!r}; recorded: {list(self.paths)}.")

    def __len__(self) -> int:
        return len(self.grus)

    def to_bytes(self) -> bytes:
        """The capture file's bytes (see ``save``)."""
        from gru_viz.io.capture import capture_bytes

        return capture_bytes(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Write a capture (``run.gruviz.npz``): arrays only, no pickle. It holds each GRU's
        weights, the exact inputs, lengths and h0 it received, the module's own output, token
        labels when given, module paths and the description; the app, the CLI and
        ``load_checkpoint`` open it like a checkpoint."""
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path

    def checkpoint(self, gru: str | None = None):
        """The capture loaded back as a ``Checkpoint`` (what the app shows)."""
        from gru_viz.io.checkpoint import load_checkpoint

        return load_checkpoint(self.to_bytes(), gru=gru, name="recording")

    # --- notebook display (issue 14): summaries and the app's figures ---------------------

    def summary(self) -> Summary:
        """Every GRU recorded, its sizes and its check (never the arrays)."""
        rows = [(f"[{k}] {g.path or '(the module itself)'}",
                 f"{g.kind}, {g.model.describe().removeprefix('GRU: ')}, batch {g.batch}, "
                 + ("matches the module" if g.matches else f"DIFFERS by {g.max_error:.1e}"))
                for k, g in enumerate(self.grus[:12])]
        if len(self.grus) > 12:
            rows.append(("…", f"{len(self.grus) - 12} more"))
        if self.tokens is not None:
            rows.append(("tokens", f"labels {tuple(np.shape(self.tokens))}"))
        if self.description:
            rows.append(("description", self.description))
        rows.append(("figures", "heatmaps(gru=0), lines(units), saturation(), text(unit); "
                                "save(path) writes the capture the app opens"))
        return Summary(f"Recording of {len(self.grus)} GRU(s)", rows, self.warnings)

    def _tokens(self, sequence: int) -> list[str] | None:
        if self.tokens is None:
            return None
        t = np.asarray(self.tokens, dtype=object)
        return [str(s) for s in (t if t.ndim == 1 else t[sequence])]

    def heatmaps(self, gru: int | str = 0, layer: int | str = 0, direction: int | str = 0,
                 notation: str = "pytorch", *, sequence: int = 0, **options):
        """The app's four gate heatmaps of one recorded GRU (index or module path), layer,
        direction and sequence, with the recorded tokens on the time axis; ``layer="all"``
        for every layer. Options as for ``Trace.heatmaps`` (window, max_cols, order)."""
        return self[gru].heatmaps(layer, direction, notation, self._tokens(sequence),
                                  sequence=sequence, **options)

    def lines(self, units, gru: int | str = 0, layer: int = 0, direction: int = 0,
              notation: str = "pytorch", *, sequence: int = 0, **options):
        """The app's unit lines of ``units`` in one recorded GRU (see ``Trace.lines``)."""
        return self[gru].lines(units, layer, direction, notation, self._tokens(sequence),
                               sequence=sequence, **options)

    def saturation(self, gru: int | str = 0, notation: str = "pytorch", *, sequence: int = 0,
                   **options):
        """The app's saturation scatter of one recorded GRU (every layer and direction)."""
        return self[gru].saturation(notation, sequence=sequence, **options)

    def text(self, unit: int, field: str = "h", gru: int | str = 0, layer: int = 0,
             direction: int = 0, notation: str = "pytorch", *, sequence: int = 0, **options):
        """The recorded tokens coloured by one unit (Karpathy et al. 2015); needs ``tokens``
        given to ``record``. See ``LayerTrace.text``."""
        tokens = self._tokens(sequence)
        if tokens is None:
            raise InputError("No tokens were given to record(), so there is no text to "
                             "colour: record(module, x, tokens=[...]).")
        trace, b = self[gru]._traced(sequence)
        return trace.text(_steps(tokens, trace, b), unit, field, layer, direction, notation,
                          sequence=b, **options)


def _steps(tokens: Sequence[object] | None, trace: Trace, b: int | None):
    """The first T tokens of a sequence, T its trace's steps (shorter sequences of a batch
    were recorded to their own length)."""
    return None if tokens is None else list(tokens)[: trace.steps]


# --- recording -------------------------------------------------------------------------------

def _numpy(t) -> np.ndarray:
    import torch

    t = t.detach().to("cpu")
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return np.array(t.numpy())


def _gru_model(module) -> GRUModel:
    import torch

    if isinstance(module, torch.nn.GRUCell):
        sd = {f"{k}_l0": _numpy(v) for k, v in module.named_parameters()}
    else:
        if getattr(module, "proj_size", 0):
            raise InputError("A GRU with proj_size is not a torch GRU gru-viz can replay.")
        sd = {k: _numpy(v) for k, v in module.named_parameters() if not k.startswith("_")}
    return GRUModel.from_state_dict(sd)


def _call_site() -> str:
    """file:line of the Python code that called the module (outside torch and gru-viz)."""
    frame = sys._getframe(2)
    torch_dir = os.sep + "torch" + os.sep
    here = os.path.dirname(__file__)
    while frame is not None:
        name = frame.f_code.co_filename
        if torch_dir not in name and not name.startswith(here):
            return f"{os.path.basename(name)}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


@dataclass
class _Call:
    path: str
    module: Any
    x: np.ndarray  # (B, T, I)
    lengths: np.ndarray
    h0: np.ndarray | None  # (L·D, B, H) or None for zeros
    output: np.ndarray  # (B, T, D·H)
    h_n: np.ndarray
    kind: str
    site: str = ""


def _gru_call(path, module, args, kwargs, out) -> _Call:
    from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    y, h_n = out
    if isinstance(x, PackedSequence):
        padded, lengths = pad_packed_sequence(x, batch_first=True)
        y_pad, _ = pad_packed_sequence(y, batch_first=True, total_length=padded.shape[1])
        xs, ys = _numpy(padded), _numpy(y_pad)
        lengths = lengths.numpy().astype(np.int64)
    else:
        xs, ys = _numpy(x), _numpy(y)
        if xs.ndim == 2:  # unbatched (T, I)
            xs, ys = xs[None], ys[None]
            hx = None if hx is None else hx[:, None]
            h_n = h_n[:, None]
        elif not module.batch_first:
            xs, ys = xs.swapaxes(0, 1), ys.swapaxes(0, 1)
        lengths = np.full(xs.shape[0], xs.shape[1], np.int64)
    h0 = None if hx is None else _numpy(hx)
    return _Call(path, module, np.ascontiguousarray(xs), lengths, h0,
                 np.ascontiguousarray(ys), _numpy(h_n), "GRU")


def _cell_call(path, module, args, kwargs, out) -> _Call:
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    xs, hs = _numpy(x), _numpy(out)
    if xs.ndim == 1:  # unbatched (I,)
        xs, hs = xs[None], hs[None]
        hx = None if hx is None else hx[None]
    h0 = None if hx is None else _numpy(hx)[None]  # (1, B, H)
    return _Call(path, module, xs[:, None], np.ones(xs.shape[0], np.int64), h0, hs[:, None],
                 hs[None], "GRUCell", _call_site())


def _gather_cells(calls: list[_Call]) -> list[_Call]:
    """GRUCell calls from one call site become one sequence while each call starts from the
    state the previous one returned (same batch); a break starts a new sequence."""
    out: list[_Call] = []
    open_: dict[tuple[str, str], _Call] = {}
    for c in calls:
        if c.kind != "GRUCell":
            out.append(c)
            continue
        key = (c.path, c.site)
        prev = open_.get(key)
        h0 = np.zeros_like(c.h_n) if c.h0 is None else c.h0
        if prev is not None and prev.x.shape[0] == c.x.shape[0] \
                and np.array_equal(prev.h_n, h0):
            prev.x = np.concatenate([prev.x, c.x], axis=1)
            prev.output = np.concatenate([prev.output, c.output], axis=1)
            prev.lengths = prev.lengths + 1
            prev.h_n = c.h_n
            continue
        open_[key] = c
        out.append(c)
    return out


def _replay(c: _Call, path: str, dtype) -> RecordedGRU:
    model = _gru_model(c.module)
    B, T = c.x.shape[:2]
    LD, H = model.num_layers * model.num_directions, model.hidden_size
    h0 = np.zeros((LD, B, H), c.output.dtype) if c.h0 is None else c.h0
    if np.all(c.lengths == T):
        trace, sequences = run(model, c.x, h0, dtype=dtype), ()
        err = max(np.abs(trace.output - c.output).max(initial=0.0),
                  np.abs(trace.h_n - c.h_n).max(initial=0.0))
    else:
        trace, err, seqs = None, 0.0, []
        for b, L in enumerate(c.lengths):
            tr = run(model, c.x[b, :L], h0[:, b], dtype=dtype)
            seqs.append(tr)
            err = max(err, np.abs(tr.output - c.output[b, :L]).max(initial=0.0),
                      np.abs(tr.h_n - c.h_n[:, b]).max(initial=0.0))
        sequences = tuple(seqs)
        x = c.x.copy()
        for b, L in enumerate(c.lengths):
            x[b, L:] = 0
        c.x = x
    for a in (c.x, c.lengths, h0, c.output, c.h_n):
        a.setflags(write=False)
    return RecordedGRU(path, c.kind, model, c.x, c.lengths, h0, c.output, c.h_n, trace,
                       sequences, float(err))


def record(module, *args, tokens: Sequence | np.ndarray | None = None, description: str = "",
           dtype: np.dtype | type = np.float64, **kwargs) -> Recording:
    """Run ``module(*args, **kwargs)`` once and record every GRU and GRUCell inside it.

    ``tokens``: labels of the steps, (T,) or (B, T), saved with the capture; ``description``:
    free text saved with it; ``dtype``: the precision of our replay (float64: exact up to the
    module's own rounding). Returns a ``Recording``; warns when the module is in training mode
    (dropout between layers changes the states) and when our h differs from the module's.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise InputError(f"record() takes a torch.nn.Module, not a {type(module).__name__}; "
                         "for a GRUModel use gru_viz.run(model, x).")
    names = {m: n for n, m in module.named_modules()}
    targets = [m for m in names if isinstance(m, (torch.nn.GRU, torch.nn.GRUCell))]
    if not targets:
        kinds = sorted({type(m).__name__ for m in names if isinstance(m, torch.nn.RNNBase)})
        raise InputError("No nn.GRU or nn.GRUCell inside this module"
                         + (f" (it has {', '.join(kinds)})" if kinds else "") + ".")
    warnings: list[str] = []
    training = [names[m] or "(the module)" for m in targets if m.training]
    if training:
        warnings.append(f"In training mode: {', '.join(training)}. Dropout between layers "
                        "makes the states random; call module.eval() before recording.")
    calls: list[_Call] = []

    def hook(m, a, kw, out):
        try:
            reader = _cell_call if isinstance(m, torch.nn.GRUCell) else _gru_call
            calls.append(reader(names[m], m, a, kw, out))
        except Exception as exc:  # never break the user's forward
            warnings.append(f"Could not capture {names[m] or '(the module)'}: "
                            f"{type(exc).__name__}: {exc}")

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in targets]
    try:
        with torch.no_grad():
            module(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    grus = _replay_all(calls, dtype, warnings)
    never = [names[m] or "(the module)" for m in targets if all(c.module is not m for c in calls)]
    if never:
        warnings.append(f"Not called in this forward: {', '.join(never)}.")
    if not grus:
        raise InputError("The forward ran but called none of its GRUs.")
    for w in warnings:
        _warnings.warn(w, stacklevel=2)
    return Recording(tuple(grus), _token_rows(tokens), str(description), tuple(warnings))


def _replay_all(calls: list[_Call], dtype: np.dtype | type, warnings: list[str]
                ) -> list[RecordedGRU]:
    """Our replay of every captured call, labelled by path (and call number when a module ran
    more than once); a warning in ``warnings`` for each that differs from the module."""
    grus, seen = [], {}
    for c in _gather_cells(calls):
        path = c.path + (f" @ {c.site}" if c.site else "")
        seen[path] = seen.get(path, 0) + 1
        label = path if seen[path] == 1 else f"{path} [call {seen[path]}]"
        g = _replay(c, label, dtype)
        if not g.matches:
            warnings.append(f"{label or '(the module)'}: our h differs from the module's by "
                            f"{g.max_error:.2g} (over {TOLERANCE:g}).")
        grus.append(g)
    return grus


def _token_rows(tokens: Sequence | np.ndarray | None) -> np.ndarray | None:
    """Step labels as a read-only (B, T) array of str, or None."""
    if tokens is None:
        return None
    tok = np.asarray(tokens, dtype=str)
    tok = tok[None] if tok.ndim == 1 else tok
    tok.setflags(write=False)
    return tok


def describe(recording: Recording) -> str:
    """One line per GRU: path, sizes, batch, steps, agreement with the module."""
    lines = []
    for g in recording.grus:
        lines.append(f"{g.path or '(the module)'}: {g.kind}, {g.model.describe()}; "
                     f"{g.batch} sequence(s) of {int(g.lengths.max(initial=0))} steps or fewer; "
                     f"max |h − module's h| = {g.max_error:.1e}")
    return "\n".join(lines + [f"Warning: {w}" for w in recording.warnings])

