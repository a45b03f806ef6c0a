"""Cost bounds for heavy analyses, checked before they start, and a process-wide queue for them.

One request on a shared server must not hold the machine for minutes or gigabytes. Each heavy
computation estimates its cost from its sizes (floating-point operations and bytes held) and
refuses, before starting, with a message saying what to reduce; the defaults allow a few
seconds of work on one core and a few hundred MB. Callers may pass larger budgets (a notebook
on a workstation). ``heavy()`` lets at most ``HEAVY_JOBS`` such computations run at once in the
process: a student's large request waits its turn instead of stalling the class.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TypeVar

from gru_viz.core.errors import InputError

_Value = TypeVar("_Value")  # what a ByteCache holds

MAX_FLOPS = 4e9  # about 2-4 s of NumPy on one core
MAX_BYTES = 512 * 2**20  # working memory of one computation
HEAVY_JOBS = 2
_HEAVY = threading.BoundedSemaphore(HEAVY_JOBS)


def check(what: str, flops: float, nbytes: float, reduce: str, max_flops: float = MAX_FLOPS,
          max_bytes: float = MAX_BYTES) -> None:
    """Refuse ``what`` when its estimated cost is over budget; ``reduce`` says how to fit."""
    if flops > max_flops:
        raise InputError(f"{what} would take about {flops / 1e9:.3g} billion operations, over "
                         f"this server's {max_flops / 1e9:.3g} billion. {reduce}")
    if nbytes > max_bytes:
        raise InputError(f"{what} would need about {nbytes / 2**20:,.0f} MB, over this "
                         f"server's {max_bytes / 2**20:,.0f} MB. {reduce}")


@contextmanager
def heavy() -> Iterator[None]:
    """Hold one of the process's ``HEAVY_JOBS`` slots for a heavy computation (queueing)."""
    with _HEAVY:
        yield


TRACE_CACHE_BYTES = 768 * 2**20  # every cached trace of the process together
# An entry nobody has used for this long is dropped, even when no request comes to drop it:
# a class's traces and checkpoints leave with the class (issue 17: memory back near its start
# once the sessions close); a session that comes back later recomputes within its budget.
# Streamlit's caches, whose entries are small (orders, points, timings), take it as their ttl
# beside a max_entries (tests/test_cache_bounds.py).
IDLE_SECONDS = 120.0


class ByteCache:
    """A least-recently-used cache with a byte budget for all its entries together, whose
    entries idle for ``idle_s`` are dropped by a background sweep (thread-safe).

    Streamlit's caches bound the number of entries, not their size: four traces of up to 1 GB
    each stayed resident. An entry larger than the whole budget is returned but not kept.
    Streamlit's ttl expires an entry only when its cache is next called; here a daemon thread
    sweeps every ``idle_s / 4`` while the cache holds anything.
    """

    def __init__(self, max_bytes: int = TRACE_CACHE_BYTES, idle_s: float = IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.max_bytes, self.idle_s, self._clock = max_bytes, idle_s, clock
        self._items: OrderedDict = OrderedDict()  # key -> (value, bytes, last used)
        self._lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self.bytes = 0

    def get(self, key: Hashable, compute: Callable[[], _Value],
            size: Callable[[_Value], int]) -> _Value:
        """The value for ``key``, computed by ``compute()`` when absent; ``size(value)``: bytes."""
        with self._lock:
            if key in self._items:
                value, n, _ = self._items.pop(key)
                self._items[key] = (value, n, self._clock())
                return value
        value = compute()
        n = int(size(value))
        with self._lock:
            if key not in self._items and n <= self.max_bytes:
                self._items[key] = (value, n, self._clock())
                self.bytes += n
                while self.bytes > self.max_bytes:
                    self._drop(next(iter(self._items)))
                self._start_sweeper()
        return value

    def _drop(self, key) -> None:
        self.bytes -= self._items.pop(key)[1]

    def sweep(self) -> int:
        """Drop the entries idle for ``idle_s`` or longer; the number dropped."""
        with self._lock:
            old = [k for k, (_, _, used) in self._items.items()
                   if self._clock() - used >= self.idle_s]
            for k in old:
                self._drop(k)
            return len(old)

    def _start_sweeper(self) -> None:  # with the lock held
        if self._sweeper is None or not self._sweeper.is_alive():
            self._sweeper = threading.Thread(target=self._sweep_while_held, daemon=True,
                                             name="gru_viz cache sweep")
            self._sweeper.start()

    def _sweep_while_held(self) -> None:
        while True:
            time.sleep(self.idle_s / 4)
            if self.sweep():
                release_memory()
            with self._lock:
                if not self._items:  # the next entry starts a new sweeper
                    self._sweeper = None
                    return

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def large_blocks_apart(threshold: int = 128 * 1024) -> None:
    """Give every heap block of ``threshold`` bytes or more its own mapping, so freeing it
    returns it to the system (glibc; elsewhere a no-op). Call once, in a server process.

    glibc raises this threshold, up to 32 MB, each time such a block is freed: later large
    arrays and strings then come from the heap, where freed they stay resident between
    smaller blocks until a malloc_trim (the sweep calls one only when it drops entries). After
    an abusive class left (its closed sessions swept, ``gru_viz.ui.closed_sessions``), the
    server kept +22% RSS 200 s later that way; with the threshold fixed at glibc's initial
    128 kB, +7%, at the same CPU per interaction. The price: each such block is a fresh
    mapping (a loop over 1 MB temporaries ran ~10x slower, a T=2000, H=128 Explorer run ~4%),
    so only a server process calls this (``gru_viz.ui``, under ``streamlit run``).
    """
    if (libc := _glibc()) is not None:
        libc.mallopt(M_MMAP_THRESHOLD, threshold)


def release_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; elsewhere a
    no-op): after large arrays are freed, the process's resident memory shrinks with them."""
    if (libc := _glibc()) is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (the only one whose allocator these tune),
    else None: on Windows ``ctypes.CDLL(None)`` raises TypeError, macOS and musl lack or
    ignore these calls."""
    if not sys.platform.startswith("linux"):
        return None
    with suppress(OSError):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "malloc_trim"):
            return libc
    return None


def nbytes(obj: object, _seen: set | None = None) -> int:
    """Bytes held by the NumPy arrays in ``obj`` (dataclasses, tuples, lists, dicts), each once."""
    import dataclasses

    import numpy as np

    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None or id(obj.base) not in seen else 0
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return sum(nbytes(getattr(obj, f.name), seen) for f in dataclasses.fields(obj))
    if isinstance(obj, (tuple, list)):
        return sum(nbytes(v, seen) for v in obj)
    if isinstance(obj, Mapping):
        return sum(nbytes(v, seen) for v in obj.values())
    return 0
