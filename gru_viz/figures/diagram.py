"""An SVG picture of one GRU unit at one step: gates as valves, flows drawn in proportion.

The update gate splits the new state between the old state kept (blue) and the candidate
written (orange); the reset gate meters how much of the old state reaches the candidate
(purple). A valve's disc turns with its gate: along the pipe when open (1), across it when
shut (0). Pipe widths follow the shares, boxes take the diverging colour of their value.
Text uses ``currentColor`` so it follows a light or a dark page.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np

from gru_viz.core.notation import COURSE, Notation
from gru_viz.teaching.stepmath import number

KEPT, WRITTEN, RESET, INPUT = "#0072B2", "#E69F00", "#CC79A7", "#888888"
STOPS = ((-1.0, (33, 102, 172)), (-0.5, (146, 197, 222)), (0.0, (247, 247, 247)),
         (0.5, (244, 165, 130)), (1.0, (178, 24, 43)))  # the heatmaps' diverging scale


@dataclass(frozen=True)
class UnitStep:
    """One unit's numbers at one step; ``z`` is PyTorch's (share of the old state kept)."""

    x: str  # the input, as a short label
    h_prev: float
    r: float
    z: float
    n: float
    h: float


def diverging(v: float) -> str:
    """The fill for a value in [−1, 1] on the heatmaps' scale."""
    v = float(np.clip(v, -1, 1))
    for (a, ca), (b, cb) in zip(STOPS, STOPS[1:]):
        if v <= b:
            f = (v - a) / (b - a)
            return "#" + "".join(f"{round(p + f * (q - p)):02x}" for p, q in zip(ca, cb))
    return "#b2182b"


def _box(x: float, y: float, label: str, value: float | None, w: float = 120) -> str:
    fill = diverging(value) if value is not None else "#e8e8e8"
    ink = "#ffffff" if value is not None and abs(value) > 0.6 else \
        "#222222"
    num = "" if value is None else f'<tspan x="{x}" dy="25">{number(value, sign=True)}</tspan>'
    return (f'<rect x="{x - w / 2}" y="{y - 30}" width="{w}" height="60" rx="10" fill="{fill}" '
            f'stroke="currentColor" stroke-width="2"/>'
            f'<text x="{x}" y="{y - (5 if value is not None else -8)}" fill="{ink}" '
            f'text-anchor="middle" font-size="26">{escape(label)}{num}</text>')


def _valve(x: float, y: float, opening: float, along: str, colour: str, label: str,
           anchor: str = "start") -> str:
    """A butterfly valve: the disc lies along the pipe when open, across it when shut."""
    angle = (1 - opening) * 90 + (90 if along == "v" else 0)
    tx, ty = {"start": (x + 28, y + 8), "end": (x - 28, y + 8), "middle": (x, y - 30)}[anchor]
    return (f'<circle cx="{x}" cy="{y}" r="20" fill="none" stroke="{colour}" stroke-width="3"/>'
            f'<line x1="{x - 17}" y1="{y}" x2="{x + 17}" y2="{y}" stroke="currentColor" '
            f'stroke-width="5" stroke-linecap="round" transform="rotate({angle:.1f} {x} {y})"/>'
            f'<text x="{tx}" y="{ty}" font-size="25" fill="currentColor" '
            f'text-anchor="{anchor}">{escape(label)}</text>')


def _pipe(points: list[tuple[float, float]], colour: str, share: float, dash: str = "") -> str:
    width = 2 + 16 * float(np.clip(share, 0, 1))
    path = " ".join(f"{'M' if k == 0 else 'L'}{x},{y}" for k, (x, y) in enumerate(points))
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width:.1f}" '
            f'stroke-linejoin="round" stroke-opacity="0.85"{extra}/>')


def cell_svg(notation: Notation, step: UnitStep | None = None, reset_after: bool = True,
             background: str | None = None, title: str = "") -> str:
    """The cell for one unit; without ``step`` a labelled picture with half-open valves."""
    course = notation.key == COURSE.key
    s = step or UnitStep("x", 0.0, 0.5, 0.5, 0.0, 0.0)
    show = step is not None
    keep, write = s.z, 1 - s.z
    names = ({"hp": "c⟨t−1⟩", "h": "c⟨t⟩", "n": "c̃⟨t⟩", "x": "x⟨t⟩"} if course
             else {"hp": "h(t−1)", "h": "h(t)", "n": "n(t)", "x": "x(t)"})
    rst = f"{notation.reset} = {number(s.r)}" if show else notation.reset
    keep_label = notation.kept() + (f" = {number(keep)}" if show else "")
    write_label = notation.written() + (f" = {number(write)}" if show else "")
    reset_where = "after W·h" if reset_after else "before W·h"  # where it acts
    parts = [
        # kept old state along the top, written candidate up from the candidate box
        _pipe([(110, 70), (560, 70)], KEPT, keep),
        _pipe([(300, 250), (300, 200), (470, 200), (470, 70)], WRITTEN, write),
        _pipe([(150, 70), (150, 250), (250, 250)], RESET, s.r),
        _pipe([(20, 345), (300, 345), (300, 275)], INPUT, 0.3),
        _valve(380, 70, keep, "h", KEPT, keep_label, "middle"),
        _valve(470, 140, write, "v", WRITTEN, write_label, "end"),
        _valve(150, 170, s.r, "v", RESET, f"{rst} ({reset_where})"),
        _box(70, 70, names["hp"], s.h_prev if show else None),
        _box(610, 70, names["h"], s.h if show else None),
        _box(300, 250, f"tanh → {names['n']}", s.n if show else None, w=170),
        f'<text x="20" y="385" font-size="25" fill="currentColor">{escape(names["x"])}'
        f'{": " + escape(s.x) if show else ""}</text>',
        f'<text x="670" y="300" font-size="23" fill="currentColor" text-anchor="end">'
        f'<tspan x="670" fill="{KEPT}">■ old state kept</tspan>'
        f'<tspan x="670" dy="26" fill="{WRITTEN}">■ candidate written</tspan>'
        f'<tspan x="670" dy="26" fill="{RESET}">■ old state into</tspan>'
        f'<tspan x="670" dy="26" fill="{RESET}">the candidate</tspan></text>',
        f'<text x="20" y="26" font-size="25" font-weight="bold" fill="currentColor">'
        f'{escape(title)}</text>',
    ]
    bg = f'<rect width="680" height="395" rx="14" fill="{background}"/>' if background else ""
    style = ' style="color:#222222"' if background else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 680 395" role="img" '
            f'aria-label="GRU cell diagram" font-family="sans-serif"{style}>{bg}'
            + "".join(parts) + "</svg>")
