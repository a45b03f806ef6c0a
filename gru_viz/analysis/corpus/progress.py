"""The corpus job's progress line: tokens done and tokens per second."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """Tokens done and tokens per second on stderr: one rewritten line on a terminal, a plain
    line every 10% (or minute) otherwise."""

    def __init__(self, total: int, stream=None, label: str = "corpus") -> None:
        self.total, self.stream, self.label = max(total, 1), stream or sys.stderr, label
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self.last, self.last_pct, self.done0 = 0.0, -1, None

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.perf_counter()
        if self.done0 is None:
            self.done0 = done  # a resumed job: speed counts this run's tokens only
        pct = int(100 * done / self.total)
        if not final and (now - self.last < (0.25 if self.tty else 60)
                          and (self.tty or pct // 10 == self.last_pct // 10)):
            return
        self.last, self.last_pct = now, pct
        rate = (done - self.done0) / max(now - self.start, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else 0
        bar = "#" * (pct // 5) + "-" * (20 - pct // 5)
        line = (f"{self.label} [{bar}] {pct:3d}% {_si(done)}/{_si(self.total)} tokens "
                f"{_si(rate)} tok/s " + (f"{eta:.0f} s left" if not final else
                                         f"{now - self.start:.1f} s"))
        self.stream.write(("\r" + line + ("\n" if final else "")) if self.tty else line + "\n")
        self.stream.flush()


def _si(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"
