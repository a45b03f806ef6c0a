"""What every reader does to the arrays it reads: one .npy header check, one hand-over."""

from __future__ import annotations

from typing import IO

import numpy as np


def npy_header(f: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, Fortran order, dtype) that a .npy header declares, read before any data;
    ValueError when ``f`` is not a .npy file."""
    version = np.lib.format.read_magic(f)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    return read(f)


def read_only(a: np.ndarray) -> np.ndarray:
    """``a`` as the readers hand it over: native byte order, float16 widened to float32
    (which holds it exactly), read-only."""
    if a.dtype.byteorder not in ("=", "|"):
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    a.setflags(write=False)
    return a
