"""The model and input that the dynamics and memory pages study: a shipped example checkpoint,
an uploaded one, or a random GRU; the typed input read the way that model reads input.

The choice, the typed text and an uploaded model are kept in permanent session keys, so they
survive a visit to another page (Streamlit drops widget state, and empties an upload widget,
when a page without them runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz.analysis.dynamics import PRESETS
from gru_viz.core.errors import GRUVizError, InputError
from gru_viz.core.limits import check_input, server_limits
from gru_viz.core.model import GRUModel
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.io.checkpoint import Checkpoint
from gru_viz.io.inputs import Vocabulary, format_rows, read_typed
from gru_viz.io.shipped import ASSETS
from gru_viz.ui.loading import digest, load_cached
from gru_viz.ui.page import persistent, store
from gru_viz.ui.uploads import upload

RANDOM, UPLOAD = "random GRU", "upload a checkpoint"
PRESET = "2-unit preset: "
SAMPLE_TEXT = ("(([])[()])([[]]((", "def f(x):\n    return x\n")


@dataclass(frozen=True, eq=False)
class Subject:
    model: GRUModel
    name: str
    key: str  # identifies the weights exactly, for caches
    summary: str
    vocabulary: Vocabulary | None = None
    embedding: np.ndarray | None = None  # (V, I)
    head: tuple[np.ndarray, np.ndarray] | None = None  # (V', D·H), (V',)
    weight_scale: float = 1.0  # × PyTorch's default range, for random baselines to match
    captured: str | None = None  # a capture file's first recorded sequence, as rows

    def default_text(self) -> str:
        if self.captured is not None:
            return self.captured
        if self.name.startswith(PRESET):
            return PRESETS[self.name[len(PRESET):]].example
        if self.vocabulary is not None:
            known = set(self.vocabulary.symbols)
            return next((s for s in SAMPLE_TEXT if set(s) <= known),
                        "".join(self.vocabulary.symbols[:12]))
        return pulses(self.model.input_size)

    def read(self, text: str) -> tuple[np.ndarray, list[str] | None]:
        """Typed text -> the GRU's input (T, I) and the tokens (None for numeric rows)."""
        x, symbols = read_typed(text, self.model.input_size, self.vocabulary, self.embedding)
        tokens = None if symbols is None else [repr(s)[1:-1] for s in symbols]
        if len(x) == 0:
            raise InputError("The input is empty: type at least one step.")
        return np.asarray(x, dtype=np.float64), tokens

    def symbol_input(self, symbol: str) -> np.ndarray:
        """The input vector (I,) of one symbol."""
        return self.read(symbol)[0][0]


def pulses(channels: int, steps: int = 36, every: int = 6) -> str:
    """Flip-flop style input: a ±1 pulse every few steps, cycling through the channels."""
    x = np.zeros((steps, channels))
    for k, t in enumerate(range(1, steps, every)):
        x[t, k % channels] = 1.0 if (k // channels) % 2 == 0 else -1.0
    return format_rows(x)


def examples() -> list[Path]:
    return sorted(ASSETS.glob("*.pt"))


def _from_checkpoint(ck: Checkpoint, name: str, key: str) -> Subject:
    head = None if ck.head_weight is None else (
        ck.head_weight, ck.head_bias if ck.head_bias is not None else
        np.zeros(len(ck.head_weight)))
    about = ck.description.get("description")
    summary = "; ".join(ck.summary())
    if isinstance(about, dict) and about.get("summary"):  # our own self-describing files
        summary = f"{about['summary']} ({summary})"
    captured = None
    if ck.capture is not None and len(ck.capture["lengths"]):
        x = ck.capture["x"][0, :int(ck.capture["lengths"][0])]
        if x.size <= 20_000:  # rows a text box can hold
            captured = format_rows(x)
            summary += "; the input box starts with the first recorded sequence"
    return Subject(ck.model.astype(np.float64), name, key, summary, ck.vocabulary, ck.embedding,
                   head, captured=captured)


def picker(prefix: str) -> Subject | None:
    """Widgets choosing the model; None when nothing usable is chosen (a message is shown)."""
    files = examples()
    options = [p.stem for p in files] + [PRESET + k for k in PRESETS] + [RANDOM, UPLOAD]
    kept = f"{prefix}.model"
    if st.session_state.get(kept) not in options:  # e.g. an example removed since
        st.session_state[kept] = options[0]
    choice = st.selectbox("Model", options, key=persistent(kept, options[0]), on_change=store,
                          args=(kept,),
                          help="Example checkpoints are trained by `python -m gru_viz train`.")
    try:
        if choice == RANDOM:
            c = st.columns(4)
            H = c[0].number_input("hidden size", 2, 128, 16, key=f"{prefix}.H")
            L = c[1].number_input("layers", 1, 3, 1, key=f"{prefix}.L")
            scale = c[2].number_input("weight scale", 0.1, 10.0, 3.0, step=0.5,
                                      key=f"{prefix}.scale",
                                      help="× PyTorch's default range ±1/√H")
            seed = c[3].number_input("seed", 0, 10**6, 0, key=f"{prefix}.seed")
            m = GRUModel.random(3, int(H), int(L), seed=int(seed)).map(
                lambda w: w.replace(**{n: getattr(w, n) * scale for n in
                                       ("W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn")}))
            return Subject(m, RANDOM, f"random-{H}-{L}-{scale}-{seed}",
                           f"Random GRU: {m.describe()}, weights ×{scale:g}.",
                           weight_scale=float(scale))
        if choice.startswith(PRESET):
            p = PRESETS[choice[len(PRESET):]]
            return Subject(GRUModel(((p.weights(),),)), choice, choice,
                           f"{p.description} Input: 2 channels, channel i drives unit i.")
        if choice == UPLOAD:
            up = upload("Model file (torch, safetensors, Keras, ONNX, .npz, or a capture)",
                        key=f"{prefix}.upload")
            uploaded = f"{prefix}.uploaded"  # the Subject last loaded from an upload
            if up is None:  # nothing given yet, or the widget emptied by a page switch
                if uploaded in st.session_state:
                    return st.session_state[uploaded]
                st.info("Upload a checkpoint holding a GRU to study it here.")
                return None
            data, key = up.data, up.digest
            previous = st.session_state.get(uploaded)
            if previous is None or previous.key != key:
                st.session_state[uploaded] = _from_checkpoint(
                    load_cached(key, data, up.name), up.name, key)
            return st.session_state[uploaded]
        path = files[[p.stem for p in files].index(choice)]
        data = path.read_bytes()
        key = digest(data)
        return _from_checkpoint(load_cached(key, data, path.name), choice, key)
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        return None


def typed_input(prefix: str, subject: Subject) -> tuple[np.ndarray, list[str] | None] | None:
    """A text box for the input; the parsed input, or None after showing the error."""
    key = f"{prefix}.text.{subject.key}"  # each model keeps its own text
    hint = (f"text over the model's {len(subject.vocabulary)} symbols" if subject.vocabulary
            else f"one step per row, rows split by ';', {subject.model.input_size} number(s) "
                 "each")
    text = st.text_area(md("Input sequence ({})", hint),
                        key=persistent(key, subject.default_text()),
                        on_change=store, args=(key,), height=90)
    try:
        x, tokens = subject.read(text)
        check_input(subject.model, x.shape, server_limits())
        return x, tokens
    except GRUVizError as exc:
        st.error(md("{} Fix the input to update the views.", exc))
        return None
