"""The model and input that the dynamics and memory pages study: a shipped example checkpoint,
an uploaded one, or a random GRU; the typed input read the way that model reads input.

The choice, the typed text and an uploaded model are kept in permanent session keys, so they
survive a visit to another page (Streamlit drops widget state, and empties an upload widget,
when a page without them runs)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz.analysis.dynamics import PLANE_PRESETS
from gru_viz.core.errors import GRUVizError, InputError
from gru_viz.core.limits import check_input, server_limits
from gru_viz.core.model import GRUModel
from gru_viz.core.untrusted import md
from gru_viz.core.weights import BIASES, MATRICES
from gru_viz.io.checkpoint import Checkpoint
from gru_viz.io.inputs import Vocabulary, first_rows, format_rows, read_typed
from gru_viz.io.shipped import ASSETS
from gru_viz.ui.model_choice import Picker, choose
from gru_viz.ui.state import Lab, Study

RANDOM, UPLOAD = "random GRU", "upload a checkpoint"
PRESET = "2-unit preset: "
PLAYGROUND = "the Playground's model and input"  # issue 15: one model across the pages
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
    given_text: str | None = None  # the input that came with the model (the Playground's)

    def default_text(self) -> str:
        if self.given_text is not None:
            return self.given_text
        if self.captured is not None:
            return self.captured
        if self.name.startswith(PRESET):
            return PLANE_PRESETS[self.name[len(PRESET):]].example
        if self.vocabulary is not None:
            known = set(self.vocabulary.symbols)
            return next((s for s in SAMPLE_TEXT if set(s) <= known),
                        "".join(self.vocabulary.symbols[:12]))
        if self.embedding is not None:  # token ids, as the Explorer reads such a model
            return " ".join(str(i % len(self.embedding)) for i in range(12))
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


def _random(study: Study) -> Subject:
    c = st.columns(4)
    H = c[0].number_input("hidden size", 2, 128, 16, key=study.widget("H"))
    L = c[1].number_input("layers", 1, 3, 1, key=study.widget("L"))
    scale = c[2].number_input("weight scale", 0.1, 10.0, 3.0, step=0.5,
                              key=study.widget("scale"), help="× PyTorch's default range ±1/√H")
    seed = c[3].number_input("seed", 0, 10**6, 0, key=study.widget("seed"))
    m = GRUModel.random(3, int(H), int(L), seed=int(seed)).map(
        lambda w: w.replace(**{n: getattr(w, n) * scale for n in
                               ("W_ir", "W_iz", "W_in", "W_hr", "W_hz", "W_hn")}))
    return Subject(m, RANDOM, f"random-{H}-{L}-{scale}-{seed}",
                   f"Random GRU: {m.describe()}, weights ×{scale:g}.", weight_scale=float(scale))


def picker(study: Study) -> Subject | None:
    """Widgets choosing the model (the Explorer's picker, ``ui.model_choice``, with the
    2-unit presets and a random GRU added); None when nothing usable is chosen yet."""
    presets = [PRESET + k for k in PLANE_PRESETS]
    playground = _playground()
    if playground is not None and not study.model.source.is_set():
        study.model.source.set(PLAYGROUND)  # first visit after the Playground
    p = Picker(study.model, UPLOAD,
               "Model file (torch, safetensors, Keras, ONNX, .npz, or a capture)",
               help="Example checkpoints are trained by `python -m gru_viz train`.")
    choice, loaded = choose(p, [(f.stem, f) for f in examples()],
                            ([PLAYGROUND] if playground is not None else []) + presets + [RANDOM])
    if choice == PLAYGROUND:
        return playground
    if choice == RANDOM:
        return _random(study)
    if choice in presets:
        preset = PLANE_PRESETS[choice[len(PRESET):]]
        return Subject(GRUModel(((preset.weights(),),)), choice, choice,
                       f"{preset.description} Input: 2 channels, channel i drives unit i.")
    if loaded is None:
        if choice == UPLOAD:
            st.info("Upload a checkpoint holding a GRU to study it here.")
        return None
    subject = study.subject.get()
    if subject is None or subject.key != loaded.key:
        subject = _from_checkpoint(loaded.ckpt, loaded.name, loaded.key)
        study.subject.set(subject)
    return subject


def _playground() -> Subject | None:
    """The model in force on the Playground and Step through (weights, reset placement,
    vocabulary), with their typed input as its text; None before either ran this session."""
    from gru_viz.ui import lab

    if not Lab.weights.is_set():
        return None
    w = lab.weights_in_force()
    vocab = Lab.vocab.get()
    text = Lab.text.get() or ""
    h = hashlib.sha256(repr((vocab, text, w.reset_after)).encode())
    for name in MATRICES + BIASES:
        h.update(np.ascontiguousarray(getattr(w, name), dtype=np.float64).tobytes())
    preset = Lab.preset.get()
    about = f"preset {preset!r}" if preset else "your own weights"
    return Subject(GRUModel(((w,),)), PLAYGROUND, f"playground-{h.hexdigest()[:16]}",
                   f"The Playground's cell ({about}): {GRUModel(((w,),)).describe()}; its "
                   "input as typed there.",
                   vocabulary=Vocabulary(tuple(vocab)) if vocab else None, given_text=text)


def typed_input(study: Study, subject: Subject
                ) -> tuple[np.ndarray, list[str] | None] | None:
    """A text box for the input; the parsed input, or None after showing the error."""
    box = study.text(subject.key)
    hint = (f"text over the model's {len(subject.vocabulary)} symbols" if subject.vocabulary
            else f"token ids 0..{len(subject.embedding) - 1}, split by spaces"
            if subject.embedding is not None
            else f"one step per row, rows split by ';', {subject.model.input_size} number(s) "
                 "each")
    most = server_limits().max_steps
    limit = 4 * most if subject.vocabulary else 8 * most if subject.embedding is not None \
        else 400_000
    text = st.text_area(md("Input sequence ({})", hint),
                        key=box.bind(subject.default_text()),
                        on_change=box.store, height=90, max_chars=limit)
    text = text[:limit]  # however it got in: bounded before any parsing (issue 17)
    if not subject.vocabulary and subject.embedding is None:
        text, _ = first_rows(text, most + 1)  # one over: the step limit still reports it
    try:
        x, tokens = subject.read(text)
        check_input(subject.model, x.shape, server_limits())
        return x, tokens
    except GRUVizError as exc:
        st.error(md("{} Fix the input to update the views.", exc))
        return None
