"""How a corpus job runs: the options that shape its result and those that do not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gru_viz.core.errors import InputError

MODES = ("exact", "segments")


@dataclass(frozen=True)
class Options:
    """How a corpus job runs; all but ``device``, ``threads`` and ``state_every`` shape the
    result (a resumed job must use the same)."""

    batch: int = 64
    chunk: int = 256
    mode: str = "exact"
    warmup: int = 128
    segment: int | None = None
    split: str = "file"
    bins: int = 20
    left: float = 0.1
    right: float = 0.9
    top_k: int = 16
    context: int = 12
    dtype: str = "float32"
    recorder: str = "auto"
    device: str = "auto"
    threads: int | None = None
    state_every: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}; got {self.mode!r}.")
        if self.dtype not in ("float32", "float64"):
            raise InputError(f"dtype must be float32 or float64; got {self.dtype!r}.")
        for name in ("batch", "chunk", "bins"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1.")
        if self.top_k < 0:
            raise InputError("top_k must be ≥ 0 (0: no index of positions).")
        if self.warmup < 0 or self.context < 0 or (self.segment is not None and self.segment < 1):
            raise InputError("warmup and context must be ≥ 0, segment ≥ 1.")
        if not 0 <= self.left <= self.right <= 1:
            raise InputError("Saturation thresholds need 0 ≤ left ≤ right ≤ 1.")

    def shaping(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("device", "threads", "state_every"):
            d.pop(k)
        return d
