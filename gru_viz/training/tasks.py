"""Data for the example models, generated from a seed (NumPy only, no downloads).

- nested brackets: next-character prediction, with the true nesting depth at every step;
- flip-flop: pulses of ±1 on input channels; each output holds the sign of its channel's last
  pulse (Sussillo & Barak 2013), a memory task with one stable state per stored pattern;
- Python source: the standard library's own ``.py`` files, which every Python install has.
"""

from __future__ import annotations

import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BRACKETS = "()[]"
OPENERS, CLOSERS = "([", ")]"
# Python source characters: newline and printable ASCII; anything else reads as "?".
SOURCE_SYMBOLS = "\n" + "".join(chr(c) for c in range(32, 127))


@dataclass(frozen=True)
class BracketData:
    texts: tuple[str, ...]  # n strings of length T over "()[]"
    depth: np.ndarray  # (n, T) nesting depth after each character


def brackets(n: int, length: int, seed: int, max_depth: int = 6, p_open: float = 0.5
             ) -> BracketData:
    """Random well-nested prefixes from depth 0: open (either kind) with ``p_open`` unless at
    ``max_depth``, otherwise close the innermost bracket; at depth 0 always open."""
    rng = np.random.default_rng(seed)
    u, kinds = rng.random((length, n)), rng.integers(2, size=(length, n))
    stack = np.zeros((n, max_depth + 1), np.int64)  # kinds of the open brackets, per sequence
    depth, chars = np.zeros((n, length), np.int64), np.zeros((n, length), np.int64)
    d, rows = np.zeros(n, np.int64), np.arange(n)
    for t in range(length):  # all sequences at once
        opening = (d == 0) | ((d < max_depth) & (u[t] < p_open))
        stack[rows[opening], d[opening]] = kinds[t, opening]
        d = d + np.where(opening, 1, -1)
        closed = stack[rows, d]  # the kind being closed (read after stepping down)
        chars[:, t] = np.where(opening, kinds[t], 2 + closed)  # "(", "[", ")", "]"
        depth[:, t] = d
    symbols = np.array(list(OPENERS + CLOSERS))
    return BracketData(tuple("".join(row) for row in symbols[chars]), depth)


def flipflop(n: int, length: int, channels: int, seed: int, p_pulse: float = 0.05
             ) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, T, C) in {-1, 0, 1} and targets (n, T, C) in {-1, 1}.

    Every channel pulses at t = 0, so every target is defined from the first step."""
    rng = np.random.default_rng(seed)
    pulse = rng.random((n, length, channels)) < p_pulse
    pulse[:, 0] = True
    sign = rng.choice(np.array([-1.0, 1.0]), size=(n, length, channels))
    x = np.where(pulse, sign, 0.0)
    # the index of the last pulse up to t, per channel, then its sign
    last = np.maximum.accumulate(np.where(pulse, np.arange(length)[None, :, None], 0), axis=1)
    y = np.take_along_axis(x, last, axis=1)
    return x, y


def stdlib_files() -> list[Path]:
    """The standard library's top-level ``.py`` files, sorted by name."""
    return sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))


def python_source(chars: int, seed: int, skip: int = 0) -> str:
    """``chars`` characters of stdlib source: whole files in an order shuffled by ``seed``.

    With ``skip``, the files starting before character ``skip`` of that order are left out: a
    held-out split (same seed) that shares no file with ``python_source(skip, seed)``.
    Characters outside SOURCE_SYMBOLS become "?".
    """
    files = stdlib_files()
    order = np.random.default_rng(seed).permutation(len(files))
    allowed = set(SOURCE_SYMBOLS)
    parts, start, got = [], 0, 0
    for k in order:
        text = files[k].read_text(encoding="utf-8", errors="replace")
        start += len(text)
        if start - len(text) < skip:
            continue
        parts.append("".join(c if c in allowed else "?" for c in text))
        got += len(text)
        if got >= chars:
            break
    return "".join(parts)[:chars]
