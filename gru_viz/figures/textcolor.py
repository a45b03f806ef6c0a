"""The input text coloured by one unit's value at each step (Karpathy et al. 2015), as HTML.

Colour scales come in Plotly's form, ``[[position, "#rrggbb"], ...]``, so the text uses the
very scale of the heatmaps (the caller passes it; this module needs no Plotly).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

Scale = Sequence[Sequence]  # [[position in [0, 1], "#rrggbb"], ...]


def display_token(s: str) -> str:
    """A token made visible: space as ␣, new line as ↵, tab as ⇥."""
    return s.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥")


def _rgb(hex_colour: str) -> np.ndarray:
    h = hex_colour.lstrip("#")
    return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def colours(values: np.ndarray, lo: float, hi: float, scale: Scale) -> list[str]:
    """``#rrggbb`` of each value on ``scale`` over the fixed range [lo, hi] (clipped)."""
    pos = np.array([float(p) for p, _ in scale])
    rgb = np.array([_rgb(c) for _, c in scale])
    frac = np.clip((np.asarray(values, dtype=np.float64) - lo) / (hi - lo), 0, 1)
    frac = np.nan_to_num(frac, nan=0.5)
    channels = np.stack([np.interp(frac, pos, rgb[:, i]) for i in range(3)], -1)
    return ["#" + "".join(f"{v:02x}" for v in c) for c in np.rint(channels).astype(int)]


def _ink(bg: str) -> str:
    r, g, b = _rgb(bg) / 255
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else "#fff"


def coloured_text(tokens: Sequence[str], values: np.ndarray, lo: float, hi: float,
                  scale: Scale, marked: Sequence[tuple[int, int]] = (), start: int = 0,
                  label: str = "value", sep: str = "") -> str:
    """HTML of ``tokens`` with each token's background set by its value (same length).

    ``marked`` spans [a, b) of absolute steps are outlined (e.g. unit-search matches);
    ``start`` is the absolute step of tokens[0], for hover titles; ``sep`` goes between
    tokens (a space for ids or vectors, nothing for the characters of a text).
    """
    inside = np.zeros(len(tokens), bool)
    for a, b in marked:
        inside[max(a - start, 0):max(b - start, 0)] = True
    parts = []
    for i, (tok, bg, v) in enumerate(zip(tokens, colours(values, lo, hi, scale), values)):
        text = html.escape(tok).replace(" ", "&nbsp;").replace("\n", "↵<br>").replace("\t", "⇥")
        outline = "outline:2px solid #d62728;" if inside[i] else ""
        parts.append(f'<span title="t = {start + i}: {label} = {v:.3f}" style="background:{bg};'
                     f'color:{_ink(bg)};{outline}padding:1px 0">{text or "∅"}</span>')
    return ('<div style="font-family:monospace;font-size:18px;line-height:2;'
            'word-break:break-all">' + html.escape(sep).join(parts) + "</div>")
