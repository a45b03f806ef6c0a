"""Every value a session keeps, each under a key written once, read and written through types.

Streamlit keeps a session's values in ``st.session_state`` under string keys. Here each value
is a ``Slot``: its key and the type of what it holds, grouped below by the page or area that
owns it, so that no page or module spells a key of its own (``tests/test_layering.py`` checks
that no other module indexes ``st.session_state`` with a string). Widget keys come from the
same slots (``slot.key``), namespaced per page: "<page>.<name>".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import streamlit as st

from gru_viz.core.weights import GRUWeights

if TYPE_CHECKING:
    from gru_viz.ui.model_choice import Loaded
    from gru_viz.ui.subjects import Subject

T = TypeVar("T")
_UNSET: Any = object()


class Slot(Generic[T]):
    """One session value: ``get`` gives the default while unset (a slot without a default must
    be set before it is read: reading it first is a programming error, a KeyError)."""

    __slots__ = ("key", "_default")

    def __init__(self, key: str, default: T = _UNSET) -> None:
        self.key = key
        self._default = default

    def __repr__(self) -> str:
        return f"Slot({self.key!r})"

    def get(self) -> T:
        if self._default is _UNSET:
            return st.session_state[self.key]
        return st.session_state.get(self.key, self._default)

    def set(self, value: T) -> None:
        st.session_state[self.key] = value

    def init(self, value: T) -> T:
        """Set ``value`` unless set already; the value in force."""
        return st.session_state.setdefault(self.key, value)

    def is_set(self) -> bool:
        return self.key in st.session_state

    def take(self) -> T:
        """The value (the default when unset), removed."""
        return st.session_state.pop(self.key, None if self._default is _UNSET else self._default)

    def clear(self) -> None:
        st.session_state.pop(self.key, None)

    # A value kept across pages: Streamlit drops a widget's own state when another page runs,
    # so the widget binds to ``key + ".w"`` and writes back into ``key`` from its on_change.
    def bind(self, default: T) -> str:
        """The widget key of a value kept across pages; the widget starts from the value kept
        (``default`` when none). Pass ``on_change=slot.store``."""
        st.session_state.setdefault(self.key, default)
        st.session_state[self.key + ".w"] = st.session_state[self.key]
        return self.key + ".w"

    def store(self) -> None:
        """on_change of the widget ``bind`` keyed: keep its value."""
        st.session_state[self.key] = st.session_state[self.key + ".w"]


class Frame:
    """The sidebar every page shares (``ui.page``)."""

    notation = Slot[str]("notation", "course")  # a key of core.notation.NOTATIONS
    lecture = Slot[bool]("lecture", False)  # projector mode, kept in the link as ?lecture=1
    lecture_url = Slot[str | None]("lecture.url", None)  # the ?lecture= value last applied
    theme = "frame.theme"  # widget: the light/dark links


class Lab:
    """The model and input the Playground and Step through share (``ui.lab``)."""

    weights = Slot[GRUWeights]("lab.weights")  # stored with reset_after=False
    preset = Slot[str | None]("lab.preset")  # None once the weights are the user's own
    vocab = Slot[tuple[str, ...] | None]("lab.vocab")
    text = Slot[str]("lab.text")
    variant = Slot[str]("lab.variant", "before")  # where the reset gate acts: before | after
    step = Slot[int]("lab.step")
    version = Slot[int]("lab.version", 0)  # bumped when weights are replaced wholesale
    last_good = Slot[tuple | None]("lab.last_good", None)  # (text, vocab, I, x, tokens)
    url_seen = Slot[dict[str, str] | None]("lab.url", None)
    unit = Slot[int]("lab.unit", 0)  # the unit Step through follows (link: u)
    follow = Slot[tuple[int, ...] | None]("lab.follow", None)  # Playground's lines (link: f)
    gate = Slot[str]("pg.gate", "z")  # the Playground's open weights tab (link: g)


class Playground:
    """The Playground's own controls (``ui.teaching``, ``ui.weights_editor``)."""

    preset = Slot[str]("teach.preset")  # the preset selectbox
    units = Slot[list[int]]("pg.units.w")  # the units-to-follow multiselect
    hidden = Slot[int]("pg.hidden")
    input = Slot[int]("pg.input")
    seed = Slot[int]("pg.seed", 0)
    upload = Slot[Any]("pg.upload", None)  # the weights file uploader (an UploadedFile)
    upload_problem = Slot[str | None]("pg.upload_problem", None)  # why it was not used
    edit_problem = Slot[str | None]("pg.edit_problem", None)  # why an edit was not used
    editor_gen = Slot[int]("pg.table.gen", 0)  # bumped to replace an editor forged in a browser
    served = Slot[dict]("pg.served")  # {"now": (weights, vocabulary)}: what the download serves

    @staticmethod
    def gate_tabs(notation: str) -> Slot[str]:
        """The weights tabs (labelled in the notation, so one widget per notation)."""
        return Slot(f"{Lab.gate.key}.{notation}")

    @staticmethod
    def weight_slider(name: str, index: tuple[int, ...], version: int, course: bool,
                      after: bool) -> Slot[float]:
        """One weight's slider, fresh for each version of the weights and each notation."""
        return Slot(f"pg.{name}.{'.'.join(map(str, index))}.v{version}"
                    + (f".course.{int(after)}" if course else ""))

    @staticmethod
    def table(gate: str, course: bool, after: bool, version: int, gen: int) -> Slot[Any]:
        """A gate's matrix editor (its value: the browser's edits)."""
        return Slot(f"pg.table.{gate}.{int(course)}{int(after)}.{version}.{gen}")

    @staticmethod
    def table_text(gate: str, course: bool, after: bool, digest: str) -> Slot[str]:
        """The same numbers as text, fresh whenever they change (``digest``)."""
        return Slot(f"pg.tabletext.{gate}.{int(course)}{int(after)}.{digest}")


class Lesson:
    step = Slot[int]("lesson.step")  # index of the step shown
    nav = Slot[str]("lesson.nav")  # the step bar's short name
    url = Slot[str | None]("lesson.url", None)  # the ?step= value last applied

    @staticmethod
    def pick(step: str, notation: str) -> Slot[str | None]:
        """The student's prediction on a step (asked again in the other notation)."""
        return Slot(f"lesson.pick.{step}.{notation}", None)


class Phase:
    """The Phase portrait's 2-unit model of sliders."""

    preset = Slot[str]("pp.preset")
    hand_text = Slot[str]("pp.hand_text")
    x0 = Slot[float]("pp.x0", 0.0)  # the constant input
    x1 = Slot[float]("pp.x1", 0.0)
    source = Slot[str]("pp.source")  # the 2-unit model or a larger one

    @staticmethod
    def param(name: str) -> Slot[float]:
        """A slider's parameter: w00 … w11, b0, b1, or bz (PyTorch's b_z, course or not)."""
        return Slot(f"pp.{name}")

    @staticmethod
    def bias_widget(course: bool) -> Slot[float]:
        """The update-bias slider: b_u = −b_z in course notation, b_z otherwise."""
        return Slot("pp.bu.w" if course else "pp.bz.w")


class Memory:
    view = Slot[str]("mg.view")


@dataclass(frozen=True)
class ModelChoice:
    """One model picker's values (``ui.model_choice``)."""

    source: Slot[str]  # the Model selectbox's choice
    current: Slot[Loaded | None]  # the model in use, kept when a new file fails
    error: Slot[str | None]  # the message of the last failure
    upload: str  # the uploader widget

    def gru(self, digest: str) -> Slot[str]:
        """The GRU chosen in a file that holds several."""
        return Slot(f"{self.source.key}.gru.{digest}")


@dataclass(frozen=True)
class Study:
    """A page that studies a chosen model: the Phase portrait ("pp") or Memory ("mg")."""

    page: str

    @property
    def model(self) -> ModelChoice:
        source = f"{self.page}.model"
        return ModelChoice(Slot(source), Slot(f"{source}.current", None),
                           Slot(f"{source}.load_error", None), f"{self.page}.upload")

    @property
    def subject(self) -> Slot[Subject | None]:
        """The model in use, converted once per model rather than on every rerun."""
        return Slot(f"{self.page}.subject", None)

    def text(self, subject: str) -> Slot[str]:
        """The typed input; each model keeps its own."""
        return Slot(f"{self.page}.text.{subject}")

    def widget(self, name: str) -> str:
        """A widget of the page's own (e.g. the random model's sizes)."""
        return f"{self.page}.{name}"


class Explorer:
    view = Slot[str]("ex.view")
    model = ModelChoice(Slot("ex.source"), Slot("ex.current", None), Slot("ex.load_error", None),
                        "ex.upload")
    images = Slot[tuple[str, dict[str, bytes]] | None]("ex.images", None)  # (view, drawn)
    corpus = Slot[tuple | None]("ex.corpus.result", None)  # (key, stats, sequences, texts)
    matches = Slot[tuple | None]("ex.corpus.matches", None)  # (key, matches)
    search = Slot[dict | None]("ex.search.result", None)  # the last unit search: {model, …}
    window_start = Slot[int]("ex.window.start", 0)  # the window's first step, as last heard
    window_url = Slot[str | None]("ex.window.start.url", None)  # the ?win= value last applied
    window_drawn = Slot[tuple | None]("ex.window.drawn", None)  # (what, span, figure JSON)
    opened = Slot[tuple[str, bytes] | None]("ex.opened", None)  # the file handed over
    opened_token = Slot[str | None]("ex.opened.token", None)  # read once per token
    opened_input = Slot[tuple[str, str] | None]("ex.opened.input", None)  # (sha256, text)

    @staticmethod
    def override(model: str, part: str) -> Slot[str]:
        """A detection override of a model: emb, head, vocab or typed (the vocabulary)."""
        return Slot(f"ex.override.{model}.{part}")

    @staticmethod
    def input(model: str, box: str = "input") -> Slot[str]:
        """A model's typed input in a box ("input", or "compare": the Compare view's second);
        each model keeps its own."""
        return Slot(f"ex.{box}.{model}")

    @staticmethod
    def captured(box: Slot[str]) -> Slot[Any]:
        """Which captured sequence a capture file's input is (or the user's own)."""
        return Slot(f"{box.key}.captured")

    @staticmethod
    def input_file(box: Slot[str]) -> str:
        """The uploader of a CSV or NPY input beside the box."""
        return f"{box.key}.file"


class Uploads:
    digests = Slot[dict[str, tuple[str, str]]]("uploads.digests")  # widget: (file_id, sha256)
