"""A guided lesson through the GRU, one screen a step, each with a predict-then-reveal question.

The order a lecture can follow: latch → leaky integrator → reset on a marker → counter →
trained flip-flop → its phase portrait → memory. Every answer and every "why" is computed
here from the run of the step's own model on its own input (nothing is pasted), in the
notation the student chose. The page (pages/0_Lesson.py) only draws what this module says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import memory
from gru_viz.core.engine import run
from gru_viz.core.notation import Notation
from gru_viz.core.trace import LayerTrace
from gru_viz.teaching.presets import COUNTER, LATCH, LEAKY, RESET, Preset, trained_presets


@dataclass(frozen=True)
class Run:
    """A step's model on its input: the preset, its run and the step labels."""

    preset: Preset
    cell: LayerTrace
    labels: list[str]

    @property
    def written(self) -> np.ndarray:
        """(T, H) share of the candidate written at each step (course Γu, PyTorch 1 − z)."""
        return 1 - np.asarray(self.cell.z)


@dataclass(frozen=True)
class Answer:
    choice: str  # one of the question's options
    why: str  # Markdown, with the run's own numbers


@dataclass(frozen=True)
class Step:
    key: str  # in the link: ?step=<key>
    title: str
    todo: str  # what to do and look at (Markdown; {update} etc. filled from the notation)
    prompt: str  # the prediction asked for
    options: tuple[str, ...]
    figure: str  # what the page draws once answered: heatmaps, lines, portrait, retention
    _answer: Callable[[Run, Notation], Answer]
    preset: Callable[[], Preset | None]
    unit: int = 0  # the unit the figure follows

    def run(self) -> Run | None:
        p = self.preset()
        return None if p is None else _run(p)

    def answer(self, nt: Notation) -> Answer | None:
        """The answer computed from the model's run (None: the model is not available)."""
        r = self.run()
        return None if r is None else self._answer(r, nt)

    def text(self, field: str, nt: Notation) -> str:
        return getattr(self, field).format(**_symbols(nt))


def _symbols(nt: Notation) -> dict[str, str]:
    course = nt.key == "course"
    return {"update": nt.update, "reset": nt.reset, "cand": nt.candidate, "state": nt.state,
            "written": nt.update if course else "1 − z", "kept": "1 − Γu" if course else "z"}


@lru_cache(maxsize=16)
def _run(p: Preset) -> Run:
    x = p.inputs()
    cell = run(p.model(), x).layers[0][0]
    tokens = list(p.vocabulary.decode(p.vocabulary.encode(p.text))) if p.vocabulary else None
    labels = tokens or [", ".join(f"{v:g}" for v in row) for row in x]
    return Run(p, cell, labels)


def trained_flipflop() -> Preset | None:
    """The shipped trained flip-flop that fits the playground (None without torch/file)."""
    return next((p for p in trained_presets() if p.key.startswith("trained-flipflop")), None)


def _f(v: float, digits: int = 2) -> str:
    return f"{round(float(v), digits) + 0.0:.{digits}f}"  # + 0.0: no "-0.00"


# --- the answers, each from the run -------------------------------------------------------------

KEEP, WRITE, AVERAGE = ("it keeps the state it wrote at step 0", "it writes each new input",
                        "it averages the inputs")


def _latch(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    w0 = r.written[:, 0]
    later = float(w0[1:].max())
    h = r.cell.h[:, 0]
    choice = KEEP if later < 0.05 else WRITE if later > 0.5 else AVERAGE
    gate = (f"{s['update']} of unit 0 is {_f(w0[0])} at t = 0 and at most {later:.3f} from "
            f"t = 1 on" if nt.key == "course" else
            f"z of unit 0 is {_f(1 - w0[0])} at t = 0 and at least {1 - later:.3f} from t = 1 on")
    return Answer(choice, f"{gate}: it writes its candidate once, then shuts. Its state "
                          f"{s['state']}₀ goes to {_f(h[0], 3)} = {_f(w0[0])} × its candidate "
                          f"{_f(r.cell.n[0, 0], 3)} (tanh of the first input, "
                          f"{r.labels[0]}) and ends at {_f(h[-1], 3)}, whatever came after.")


def _first_silence(r: Run) -> int:
    x = np.asarray(r.cell.x)
    return int(np.flatnonzero(~x.any(axis=1))[0])


def _leaky(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    off = _first_silence(r)
    h = r.cell.h
    after = min(off + 2, len(h) - 1)
    kept = h[after] / h[off - 1]  # share of its value left 3 steps after the input stopped
    keep = 1 - r.written[off]
    fast = int(np.argmin(kept))
    choice = f"unit {fast}" if abs(kept[0] - kept[1]) > 0.05 else "both the same"
    return Answer(choice, f"Each step keeps the share {s['kept']} of the old state: "
                          f"{_f(keep[0])} for unit 0, {_f(keep[1])} for unit 1. Three steps "
                          f"after the input stops (t = {off}) unit 0 holds {kept[0]:.0%} of "
                          f"its value and unit 1 {kept[1]:.0%}: unit {fast} forgets faster.")


LOW, HIGH, SAME = "it drops to about 0", "it rises to about 1", "it stays as it was"


def _reset(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    marks = [t for t, c in enumerate(r.labels) if c == "|"]
    others = [t for t in range(len(r.labels)) if t not in marks]
    rr = r.cell.r[:, 0]
    at, elsewhere = float(rr[marks].max()), float(rr[others].min())
    choice = LOW if at < 0.1 else HIGH if at > 0.9 and elsewhere < 0.5 else SAME
    h = r.cell.h[:, 0]
    before = ", ".join(_f(r.cell.h_prev[t, 0]) for t in marks)
    after = ", ".join(_f(h[t]) for t in marks)
    return Answer(choice, f"{s['reset']} is at most {at:.3f} at every '|' (t = "
                          f"{', '.join(map(str, marks))}) and at least {elsewhere:.3f} "
                          f"elsewhere. With it shut, the candidate {s['cand']} is tanh of the "
                          f"input alone, so the state jumps from {before} to {after} there.")


RISES, FLAT, FALLS = "it rises a notch", "it stays flat", "it falls back"


def _counter(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    h, hp = r.cell.h[:, 0], r.cell.h_prev[:, 0]
    a = [t for t, c in enumerate(r.labels) if c == "a"]
    b = [t for t, c in enumerate(r.labels) if c == "b"]
    moved = float(np.abs(h[b] - hp[b]).max())
    choice = FLAT if moved < 0.02 else RISES if (h[b] > hp[b]).all() else FALLS
    k = len(a)
    return Answer(choice, f"At the b's unit 0 moves by at most {moved:.3f}: its "
                          f"{s['update']} writes only {r.written[b, 0].max():.3f} of the "
                          f"candidate there, against {_f(r.written[a, 0].mean())} at an 'a'. "
                          f"After the {k} a's its state is {_f(h[-1], 3)}, near "
                          f"1 − 0.8^{k} = {1 - 0.8 ** k:.3f}.")


def _holder(r: Run) -> int:
    """The unit that holds the sign of the last pulse: flattest between pulses, far from 0."""
    x = np.asarray(r.cell.x)[:, 0]
    quiet = np.flatnonzero((x == 0) & (np.arange(len(x)) > int(np.flatnonzero(x)[0])))
    h = r.cell.h
    score = np.abs(h[quiet]).mean(0) - np.abs(h[quiet] - h[quiet - 1]).max(0)
    return int(np.argmax(score))


SHUT, OPEN, DECAYS = ("its update gate shuts: it keeps the old state",
                      "its update gate stays open: the candidate rebuilds the same value",
                      "it does not: it decays to 0")


def _flipflop(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    u = _holder(r)
    x = np.asarray(r.cell.x)[:, 0]
    quiet = np.flatnonzero((x == 0) & (np.arange(len(x)) > int(np.flatnonzero(x)[0])))
    h, n = r.cell.h[:, u], r.cell.n[:, u]
    written = float(r.written[quiet, u].mean())
    drift = float(np.abs(h[quiet] - r.cell.h_prev[quiet, u]).max())
    choice = DECAYS if drift > 0.2 else OPEN if written > 0.5 else SHUT
    gap = float(np.abs(n[quiet] - r.cell.h_prev[quiet, u]).max())
    return Answer(choice, f"Unit {u} holds the sign (it stays near ±{_f(np.abs(h[quiet]).mean())} "
                          f"between pulses, moving at most {drift:.3f} a step). Its "
                          f"{s['update']} writes on average {written:.0%} of the candidate "
                          + (f"there, and the candidate {s['cand']} is within {gap:.3f} of the "
                             f"state it replaces: the memory lives in the candidate, rebuilt "
                             f"through {'W_cc c' if nt.key == 'course' else 'W_hn h'} every "
                             "step (as in the reset preset)."
                             if choice == OPEN else
                             "there: it keeps the old state (as in the latch)."))


@lru_cache(maxsize=4)
def fixed_points_at_zero(p: Preset) -> tuple[dy.Point, ...]:
    """The fixed points of the preset's cell under a constant zero input."""
    w = p.weights.replace(reset_after=p.reset_after) if p.reset_after is not None else p.weights
    r = _run(p)
    starts = np.asarray(r.cell.h)
    if w.hidden_size <= 3:
        return tuple(dy.fixed_points(w, np.zeros(w.input_size), starts))
    return tuple(q for q in dy.slow_points(w, np.zeros(w.input_size), starts) if q.q < 1e-20)


def _portrait(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    points = fixed_points_at_zero(r.preset)
    stable = [q for q in points if q.kind == "stable"]
    n = len(stable)
    choice = {0: "none", 1: "one", 2: "two"}.get(n, "three or more")
    where = "; ".join("(" + ", ".join(_f(v) for v in q.h) + f"), max |λ| = {q.slowest:.2f}"
                      for q in stable)
    others = [q.kind for q in points if q.kind != "stable"]
    return Answer(choice, f"Under a constant input 0 the trained cell has {n} stable fixed "
                          f"point{'s' * (n != 1)}: {where}"
                          + (f", and {len(others)} more ({', '.join(others)}) between them"
                             if others else "")
                          + f". Each pulse carries the state {s['state']} into the basin of "
                            "one of them, and the state rests there until the next pulse: a "
                            "one-bit memory, as in the hand-set bistable switch.")


def _half_life_options(r: Run) -> tuple[float, int]:
    keep = float(1 - r.written[0, 1])
    return keep, int(round(np.log(0.5) / np.log(keep)))


def _memory(r: Run, nt: Notation) -> Answer:
    s = _symbols(nt)
    keep, steps = _half_life_options(r)
    measured = memory.half_life_from(r.cell)[0, 1]
    choice = f"about {steps} steps"
    return Answer(choice, f"Unit 1 keeps the share {s['kept']} = {_f(keep, 3)} of its state "
                          f"every step, so what it held is multiplied by {_f(keep, 3)} each "
                          f"step: {_f(keep, 3)}^k = ½ at k = ln ½ / ln {_f(keep, 3)} = "
                          f"{np.log(0.5) / np.log(keep):.1f}. Counted on the run, the share of "
                          f"step 0's state left falls to ½ after {measured:g} steps.")


def _memory_options() -> tuple[str, ...]:
    _, steps = _half_life_options(_run(LEAKY))
    return tuple(f"about {k} steps" for k in sorted({max(1, steps // 3), steps, steps * 3}))


STEPS: tuple[Step, ...] = (
    Step("latch", "1 · A latch: remember the first input",
         "Two units. Unit 1 is a flag that starts at 0; unit 0 should keep **the first input** "
         "of the sequence, whatever comes after. Look at the input (top) and think about the "
         "update gate {update} of unit 0.",
         "From step 1 on, what does unit 0 do with each new input?",
         (WRITE, KEEP, AVERAGE), "heatmaps", _latch, lambda: LATCH),
    Step("leaky", "2 · A leaky integrator: the update gate sets the memory span",
         "Both units see the same input, 1 for six steps and then 0. Their update gates are "
         "fixed by their biases: unit 0 writes half of its candidate each step, unit 1 only a "
         "tenth.",
         "When the input switches off, which unit forgets faster?",
         ("unit 0", "unit 1", "both the same"), "lines", _leaky, lambda: LEAKY),
    Step("reset", "3 · Reset on a marker",
         "One unit reads a, b and the marker '|'. 'a' pushes its state up, 'b' down; its "
         "update gate is wide open, so the memory lives in the candidate {cand}, through the "
         "recurrent term, and the reset gate {reset} decides how much of the old state gets "
         "in.",
         "At each '|', what will {reset} do?", (HIGH, LOW, SAME), "heatmaps", _reset,
         lambda: RESET),
    Step("counter", "4 · A counter: one unit per symbol",
         "Unit 0 counts the a's and unit 1 the b's: a unit's update gate opens a little only "
         "when its own symbol arrives.",
         "What does unit 0's state do at each 'b'?", (RISES, FLAT, FALLS), "lines", _counter,
         lambda: COUNTER),
    Step("flipflop", "5 · A trained flip-flop",
         "This GRU was **trained** (by `python -m gru_viz train`) to output the sign of the "
         "last ±1 pulse. Nobody set its weights: find the unit that holds the sign, flat "
         "between pulses.",
         "Between pulses, how does the unit that holds the sign keep it?",
         (SHUT, OPEN, DECAYS), "lines", _flipflop, trained_flipflop, unit=1),
    Step("portrait", "6 · Its phase portrait",
         "Hold the input at 0 and the trained cell becomes a map of its state to the next "
         "state. Where that map rests (its fixed points) is what it can remember.",
         "With the input held at 0, how many stable fixed points does the trained cell have?",
         ("one", "two", "three or more"), "portrait", _portrait, trained_flipflop),
    Step("memory", "7 · Memory: how long a unit remembers",
         "Back to the leaky integrator. Unit 1 keeps the same share {kept} of its state at "
         "every step; what it held at step 0 shrinks by that factor each step.",
         "After how many steps is half of what unit 1 held at step 0 left?",
         _memory_options(), "retention", _memory, lambda: LEAKY),
)
KEYS = tuple(s.key for s in STEPS)


def find(key: str | None) -> int:
    """The index of the step named in a link: a key or a number 1…7; the first otherwise."""
    if key is None:
        return 0
    key = str(key).strip().lower()
    if key in KEYS:
        return KEYS.index(key)
    if key.isdigit() and 1 <= int(key) <= len(STEPS):
        return int(key) - 1
    return 0

