"""Short summaries of the objects a notebook holds: a few lines of text, or a small HTML table.

``repr(trace)`` in a notebook must never print arrays (a trace holds T·H numbers per field);
each object lists its sizes, layers, directions, reset placement and warnings instead. Every
string that may come from a file (names, warnings, vocabulary) is escaped by ``html_text`` in
the HTML form and made visible by ``terminal_text`` in the text form.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gru_viz.core.untrusted import html_text, terminal_text

MAX_WARNINGS = 8  # listed in full; more are counted
MAX_TEXT = 200  # characters of any one value or warning


def _clip(s: object) -> str:
    s = str(s)
    return s if len(s) <= MAX_TEXT else s[:MAX_TEXT - 1] + "…"


def reset_text(reset_after: bool) -> str:
    return ("reset after the recurrent product (PyTorch)" if reset_after
            else "reset before the recurrent product (Cho et al.)")


def shape_text(a: object) -> str:
    """``(T, H)`` of an array or tensor, as text."""
    return "(" + ", ".join(str(int(n)) for n in getattr(a, "shape", ())) + ")"


def non_finite(arrays: Sequence[object]) -> bool:
    """Whether any NumPy array among ``arrays`` holds NaN or inf (tensors are not checked)."""
    return any(isinstance(a, np.ndarray) and a.size and not np.isfinite(a).all()
               for a in arrays)


class Summary:
    """A title, ``(name, value)`` rows and warnings, as text and as HTML."""

    def __init__(self, title: str, rows: Sequence[tuple[str, object]],
                 warnings: Sequence[str] = ()) -> None:
        self.title, self.rows, self.warnings = title, list(rows), list(warnings)

    def _warnings(self) -> list[str]:
        shown = [_clip(w) for w in self.warnings[:MAX_WARNINGS]]
        if len(self.warnings) > MAX_WARNINGS:
            shown.append(f"… and {len(self.warnings) - MAX_WARNINGS} more warnings")
        return shown

    def text(self) -> str:
        lines = [terminal_text(self.title)]
        lines += [f"  {terminal_text(k)}: {terminal_text(_clip(v))}" for k, v in self.rows]
        lines += [f"  warning: {terminal_text(w)}" for w in self._warnings()]
        return "\n".join(lines)

    def html(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html_text(k)}</th>"
                       f"<td style='text-align:left'>{html_text(_clip(v))}</td></tr>"
                       for k, v in self.rows)
        warn = "".join(f"<li>{html_text(w)}</li>" for w in self._warnings())
        return (f"<div><b>{html_text(self.title)}</b><table>{rows}</table>"
                + (f"<div>Warnings:</div><ul style='color:#b2182b'>{warn}</ul>" if warn else "")
                + "</div>")


class Summarised:
    """``repr()`` and the notebook's HTML from one ``Summary`` the class builds.

    A class lists its summary in ``summary()`` (or overrides ``_display_summary``); a dataclass
    using this mixin is declared with ``repr=False`` so that its generated repr does not
    replace this one."""

    def _display_summary(self) -> Summary:
        return self.summary()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return self._display_summary().text()

    def _repr_html_(self) -> str:
        return self._display_summary().html()
