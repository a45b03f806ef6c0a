"""Hand-made GRUs that each teach one idea, with the input that shows it.

Weights follow PyTorch's convention (z = share of the old state KEPT). Every preset sets
b_hn = 0 and keeps W_hn diagonal, so reset-after and reset-before give the same numbers and
the variant switch cannot break the lesson. Shipped trained models that fit the playground
join through ``extra_presets`` and pin the reset placement they were trained with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gru_viz.core.errors import GRUVizError
from gru_viz.core.model import GRUModel
from gru_viz.core.weights import GRUWeights
from gru_viz.io.inputs import Vocabulary, format_rows, parse_rows
from gru_viz.io.shipped import ASSETS

if TYPE_CHECKING:
    from gru_viz.io.checkpoint import Checkpoint


@dataclass(frozen=True, eq=False)
class Preset:
    key: str
    title: str
    explanation: str
    look_for: str
    weights: GRUWeights
    text: str  # the input, as typed in the playground
    vocabulary: Vocabulary | None = None  # text input through one-hot ids when set
    reset_after: bool | None = None  # the placement the weights need (None: either works)

    def model(self, reset_after: bool | None = None) -> GRUModel:
        w = self.weights if reset_after is None else self.weights.replace(reset_after=reset_after)
        return GRUModel(((w,),))

    def inputs(self) -> np.ndarray:
        """The preset's input sequence (T, I)."""
        if self.vocabulary is None:
            return parse_rows(self.text, self.weights.input_size)
        return self.vocabulary.one_hot(self.vocabulary.encode(self.text))


def cell(H: int, I: int, **given: list) -> GRUWeights:
    """A cell with the named fields given (nested lists) and every other field zero."""
    zeros = {f"W_i{g}": np.zeros((H, I)) for g in "rzn"} | {f"W_h{g}": np.zeros((H, H))
                                                            for g in "rzn"}
    zeros |= {f"b_{s}{g}": np.zeros(H) for s in "ih" for g in "rzn"}
    return GRUWeights(**(zeros | {k: np.array(v, dtype=np.float64) for k, v in given.items()}),
                      reset_after=False)


LATCH = Preset(
    "latch", "Latch: remember the first input",
    "Unit 1 is a flag: it starts at 0, so its own update gate is open and it writes its "
    "candidate (about 1) at the first step; from then on the flag shuts both update gates. "
    "Unit 0 therefore writes tanh of the first input once and then keeps it, whatever comes "
    "after.",
    "The update gate closes after step 0 (PyTorch z → 1, course Γu → 0) and unit 0's state "
    "stays flat at the first input's value.",
    # z = σ(-8 + 16·flag): open while the flag is 0, shut once it is ≈ 1
    cell(2, 1, W_in=[[1.0], [0.0]], b_in=[0.0, 3.0], W_hz=[[0.0, 16.0], [0.0, 16.0]],
         b_iz=[-8.0, -8.0], b_ir=[4.0, 4.0]),
    "0.8; -0.6; 0.3; -0.9; 0.5; -0.2; 0.7; -0.4",
)

LEAKY = Preset(
    "leaky", "Leaky integrator: the update gate sets the memory span",
    "Both update gates are fixed by their biases: unit 0 keeps half of its state each step, "
    "unit 1 keeps 90 %. The candidate is just tanh of the input, so each state is a running "
    "average of the input, short for unit 0 and long for unit 1.",
    "After the input switches off, unit 0 decays in a few steps while unit 1 fades slowly; "
    "the update-gate rows are constant colours.",
    cell(2, 1, W_in=[[1.5], [1.5]], b_iz=[0.0, 2.2], b_ir=[4.0, 4.0]),
    "1; 1; 1; 1; 1; 1; 0; 0; 0; 0; 0; 0; 0; 0",
)

RESET = Preset(
    "reset", "Reset: a marker symbol wipes the memory",
    "The update gate is wide open, so each state is the new candidate. The memory lives "
    "inside the candidate, through the recurrent term W_hn h, and the reset gate decides "
    "how much of it gets in: 'a' pushes the state up, 'b' down, and the marker '|' shuts "
    "the reset gate, so the candidate is built from the input alone.",
    "The reset gate drops to 0 exactly at each '|', and the state jumps back to 0 there, "
    "whatever it held before.",
    cell(1, 3, W_in=[[0.6, -0.6, 0.0]], W_hn=[[1.2]], W_ir=[[6.0, 6.0, -6.0]],
         b_iz=[-6.0]),
    "aaab|bb|aaaa|b",
    Vocabulary(("a", "b", "|")),
)

COUNTER = Preset(
    "counter", "Counter: one unit per symbol",
    "Unit 0 counts the a's, unit 1 the b's. A unit's update gate opens a little (it writes "
    "20 % of a candidate of about 1) only when its own symbol arrives, and is shut "
    "otherwise, so its state climbs one notch per occurrence and holds in between.",
    "Each state rises in steps, one per occurrence of its symbol (1 − 0.8ᵏ after k of them), "
    "and stays flat at the other symbol.",
    cell(2, 2, W_iz=[[1.4, 9.0], [9.0, 1.4]], W_in=[[3.0, 0.0], [0.0, 3.0]], b_ir=[4.0, 4.0]),
    "abaabbbaab",
    Vocabulary(("a", "b")),
)

PRESETS: dict[str, Preset] = {p.key: p for p in (LATCH, LEAKY, RESET, COUNTER)}

SMALL_FILE = 200_000  # bytes; a playground-sized model with its metadata takes a few KB
# What a trained model of a task teaches, and an input that shows it, per shipped task.
LESSONS = {
    "flipflop": ("Find the unit that holds the sign of the last pulse (flat between pulses, "
                 "flipping at ±1), then ask which gate keeps it: a shut update gate, as in the "
                 "latch, or an open one whose candidate rebuilds the same value through W_hn h "
                 "every step, as in the reset preset.",
                 "0; 1; 0; 0; 0; 0; -1; 0; 0; 0; 1; 0; 0; 0; 0; 0; -1; 0; 0"),
}


def from_checkpoint(ckpt: Checkpoint) -> Preset | None:
    """A preset from a shipped trained model, when it fits the playground and teaches one
    idea (a known task, one layer, one direction, hidden ≤ 8, ≤ 4 plain input channels)."""
    m, about = ckpt.model, ckpt.description.get("description") or {}  # what training wrote
    lesson = LESSONS.get(about.get("task"))
    if (lesson is None or m.num_layers != 1 or m.bidirectional or m.hidden_size > 8
            or m.input_size > 4 or ckpt.embedding is not None or ckpt.vocabulary is not None):
        return None
    look_for, pulses = lesson
    x = parse_rows(pulses, 1) * np.eye(1, m.input_size)  # the pulses on channel 0
    name = about.get("name", "model")
    return Preset(f"trained-{name}", f"Trained: {name}", about.get("summary", ""), look_for,
                  m.cells[0][0], format_rows(x), reset_after=m.reset_after)


@lru_cache(maxsize=4)
def trained_presets(folder: Path = ASSETS) -> tuple[Preset, ...]:
    """Presets from the checkpoints shipped in ``folder`` (read once; unreadable files and
    models that do not fit the playground are left out)."""
    from gru_viz.io.checkpoint import load_checkpoint

    found = []
    for path in sorted(folder.glob("*.pt")):
        if path.stat().st_size > SMALL_FILE:  # too many weights for the playground: skip unread
            continue
        try:
            preset = from_checkpoint(load_checkpoint(path))
        except (GRUVizError, ImportError):  # no torch, or not a usable file: not a preset
            continue
        if preset is not None:
            found.append(preset)
    return tuple(found)


# Sources of more presets; each returns Presets (the shipped trained models by default).
extra_presets: list[Callable[[], Iterable[Preset]]] = [trained_presets]


def all_presets() -> dict[str, Preset]:
    out = dict(PRESETS)
    for source in extra_presets:
        out |= {p.key: p for p in source()}
    return out


DEFAULT = LATCH.key
