"""The model and input shared by the Playground and Step-through pages, and their URL.

Both pages read the same session keys, so a change on one shows on the other; both write
the state into the URL (``gru_viz.urlstate``) so that a link, or a reload, restores the view.
A URL is applied once per distinct value: the URL we wrote ourselves is not re-applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from gru_viz.core.engine import run
from gru_viz.core.errors import GRUVizError
from gru_viz.core.limits import server_limits
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import LayerTrace
from gru_viz.core.weights import GRUWeights
from gru_viz.io.inputs import Vocabulary, format_rows, parse_rows, read_typed
from gru_viz.teaching.presets import DEFAULT, Preset, all_presets
from gru_viz.teaching.urlstate import MAX_TEXT, ViewState, from_query, to_query
from gru_viz.ui import state
from gru_viz.ui.page import frame_params, page_params
from gru_viz.ui.state import Frame

kept = state.Lab  # the session values this module keeps (their keys, types and defaults)


@dataclass(frozen=True, eq=False)
class Lab:
    """What the pages draw: the model in force, its input and its recorded run."""

    model: GRUModel
    x: np.ndarray  # (T, I)
    tokens: list[str] | None  # symbols when the input is text
    cell: LayerTrace
    error: str | None  # why the typed input was not used (the previous one is shown)
    preset: Preset | None

    @property
    def weights(self) -> GRUWeights:
        return self.model.cells[0][0]


def default_text(input_size: int) -> str:
    """A numeric input for a model of this input size: a pulse, then silence."""
    rows = np.zeros((8, input_size))
    rows[:3, 0] = 1.0
    rows[2:5, -1] += 0.5
    return format_rows(rows)


def _view() -> ViewState:
    return ViewState(kept.weights.get(), kept.text.get(), kept.preset.get(), kept.vocab.get(),
                     Frame.notation.get(), kept.variant.get() == "after", kept.step.get())


def _apply(view: ViewState) -> None:
    kept.weights.set(view.weights.replace(reset_after=False))
    kept.text.set(view.text)
    kept.preset.set(view.preset)
    kept.vocab.set(view.vocabulary)
    Frame.notation.set(view.notation)
    kept.variant.set("after" if view.reset_after else "before")
    kept.step.set(view.step)
    kept.version.set(kept.version.get() + 1)


def preset_view(key: str) -> ViewState:
    """A preset's weights, input and vocabulary; the notation stays, and so does the reset
    placement unless the preset's weights need one (trained models)."""
    p = all_presets()[key]
    after = kept.variant.get() == "after"
    return ViewState(p.weights, p.text, p.key,
                     p.vocabulary.symbols if p.vocabulary else None,
                     Frame.notation.get(),
                     after if p.reset_after is None else p.reset_after, 0)


def load_preset(key: str) -> None:
    """Weights, vocabulary and input of a preset together (notation and variant stay)."""
    _apply(preset_view(key))


def set_weights(w: GRUWeights, vocabulary: tuple[str, ...] | None = None) -> None:
    """New weights from a resize, a file or the randomizer (no preset any more). A vocabulary
    given replaces the current one; the input is replaced when it no longer fits."""
    old = kept.weights.get()
    kept.weights.set(w.replace(reset_after=False))
    kept.preset.set(None)
    resized = w.input_size != old.input_size
    if vocabulary is not None or resized:
        kept.vocab.set(vocabulary)
    vocab = kept.vocab.get()
    if resized or _fails(kept.text.get(), w, vocab):
        kept.text.set("".join(vocab) if vocab else default_text(w.input_size))
    kept.version.set(kept.version.get() + 1)


def weights_in_force() -> GRUWeights:
    """The shared weights with the reset placement chosen on the page (the same object when
    it is already theirs: a copy validates and freezes every array, ~0.5 ms a rerun)."""
    w, after = kept.weights.get(), kept.variant.get() == "after"
    return w if w.reset_after == after else w.replace(reset_after=after)


def _fails(text: str, w: GRUWeights, vocab: tuple[str, ...] | None) -> bool:
    try:
        _parse(text, w, vocab)
    except GRUVizError:
        return True
    return False


def init() -> list[str]:
    """Session defaults, then the URL's state when it is new. Returns the URL's problems.

    Call before ``frame()``: the sidebar's notation switch must see the URL's notation.
    """
    if not kept.weights.is_set():
        _apply(preset_view(DEFAULT))
    params = page_params()  # without the frame's (?lecture=1)
    if not params or params == kept.url_seen.get():
        return []
    view, problems = from_query(params, _view())
    _apply(view)
    problems += _apply_extras(params)
    kept.url_seen.set(params)
    return problems


def _units(s: str) -> tuple[int, ...] | None:
    parts = s.split(",") if s else []
    if not all(p.isascii() and p.isdigit() and len(p) < 3 for p in parts):
        return None
    return tuple(sorted({int(p) for p in parts}))


def _apply_extras(params: dict[str, str]) -> list[str]:
    """The view's parts that are not the model: Step through's unit (u), the Playground's
    units to follow (f) and open weights tab (g). Bad values are reported and ignored."""
    problems = []
    H = kept.weights.get().hidden_size
    u = params.get("u")
    if u is not None:
        if u.isascii() and u.isdigit() and int(u) < H:
            kept.unit.set(int(u))
        else:
            problems.append(f"The link's unit {u[:20]!r} is not a unit of this model "
                            f"(0 to {H - 1}).")
    f = params.get("f")
    if f is not None:
        units = _units(f)
        if units is not None and all(j < H for j in units):
            kept.follow.set(units)
        else:
            problems.append(f"The link's units to follow {f[:40]!r} are not units 0 to {H - 1}.")
    g = params.get("g")
    if g is not None:
        if g in ("z", "r", "n"):
            kept.gate.set(g)
        else:
            problems.append(f"The link's weights tab {g[:20]!r} is not z, r or n.")
    return problems


def _extras() -> dict[str, str]:
    """``_apply_extras``'s parameters, written only where they differ from the defaults."""
    out = {}
    if kept.unit.get():
        out["u"] = str(kept.unit.get())
    follow = kept.follow.get()
    if follow is not None and list(follow) != list(range(kept.weights.get().hidden_size)):
        out["f"] = ",".join(map(str, follow))
    if kept.gate.get() != "z":
        out["g"] = kept.gate.get()
    return out


def sync_url() -> None:
    """Write the current state into the URL (call after the widgets have run).

    While the typed input does not parse, the URL keeps the last input that did: a reload
    then shows the plots the user last saw, not a default.
    """
    view, good = _view(), kept.last_good.get()
    if good is not None and good[0] != view.text and good[1:3] == (view.vocabulary,
                                                                    view.weights.input_size):
        view = replace(view, text=good[0])
    params = to_query(view) | _extras()
    if params | frame_params() != st.query_params.to_dict():  # the frame's (?lecture=1) kept
        st.query_params.from_dict(params | frame_params())
    kept.url_seen.set(params)


def _parse(text: str, w: GRUWeights, vocab: tuple[str, ...] | None):
    if len(text) > MAX_TEXT:  # bounded before any parsing (a forged widget value can be longer)
        raise GRUVizError(f"The input has {len(text)} characters; at most {MAX_TEXT} are read "
                          "here. Shorten it.")
    if vocab is not None:
        return read_typed(text.strip(), w.input_size, Vocabulary(vocab))
    return read_typed(text, w.input_size)


def _fallback(w: GRUWeights, vocab: tuple[str, ...] | None):
    """The last input that parsed and ran for this input size, else a default sequence."""
    good = kept.last_good.get()
    if good is not None and good[1:3] == (vocab, w.input_size):
        return good[3], good[4]
    if vocab is not None:
        return np.zeros((1, w.input_size)), ["∅"]
    return parse_rows(default_text(w.input_size), w.input_size), None


def current() -> Lab:
    """The model in force and its run on the typed input (or on the last one that worked).

    Parsing and the run are both inside the error handling: an input that fails either way
    shows its message over the last good view, and the page still draws the input box.
    """
    w = weights_in_force()
    text, vocab = kept.text.get(), kept.vocab.get()
    model = GRUModel(((w,),))
    error = None
    try:
        x, tokens = _parse(text, w, vocab)
        if len(x) == 0:
            raise GRUVizError("The input is empty: type at least one step.")
        cell = run(model, x, limits=server_limits()).layers[0][0]
        kept.last_good.set((text, vocab, w.input_size, x, tokens))
    except GRUVizError as exc:
        error = str(exc)
        x, tokens = _fallback(w, vocab)
        try:
            cell = run(model, x, limits=server_limits()).layers[0][0]
        except GRUVizError:  # e.g. the server's step limit lowered since: the default
            kept.last_good.clear()
            x, tokens = _fallback(w, vocab)
            cell = run(model, x, limits=server_limits()).layers[0][0]
    T = len(x)
    kept.step.set(min(kept.step.get(), T - 1))
    return Lab(model, x, tokens, cell, error, all_presets().get(kept.preset.get()))
