"""Closed sessions leave the server on time, and their memory with them.

Streamlit keeps a closed tab's session (its session state with the text of every box, its
page's last run with the traces it computed, its uploads) for
``server.disconnectedSessionTTL`` so that a reconnect resumes it. But its store drops an
expired session only when the next session is stored, and without shutting it down: after a
class leaves, every one of its sessions stays resident until someone connects, and their
uploads stay for good (issue 17: the server kept +16-25% RSS after an abusive class closed,
held by those sessions). ``start()`` has Streamlit's event loop drop the expired ones every
``SWEEP_SECONDS`` and shut them down as Streamlit shuts a closed session; then one full
collection frees them (a session is a web of reference cycles, and with
``runner.postScriptGC`` off an idle server never collects its oldest generation) and the
freed heap goes back to the system.

That collection also freezes what is left (``collect_all``), as the first sweep does: the
modules, caches and sessions of a served class are ~280,000 objects, and each of Python's
own full collections, stopping every thread, walked them all (150-190 ms each, about every
6 s under a class). Frozen, those passes walk only what was made since; what was frozen and
has died since is collected by the next sweep that drops a session.

The store is reached through Streamlit's private attributes (1.67, pinned): where they are
not found the sweep does nothing, and ``tests/test_closed_sessions.py`` fails.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from streamlit import runtime

from gru_viz.core.budget import release_memory

SWEEP_SECONDS = 10.0
_started = threading.Event()


def drop_expired(store: Any, lock: AbstractContextManager) -> int:
    """Remove the expired sessions from Streamlit's ``store`` (its TTLCache of closed
    sessions) and shut each down; when any went, collect and hand the memory back. The
    number dropped."""
    with lock:
        expired = store.expire()  # [(session id, SessionInfo)]
    n = len(expired)
    while expired:  # no name is left holding the last one
        expired.pop()[1].session.shutdown()  # its uploads, media and script runner go too
    if n:
        collect_all()
    return n


def collect_all() -> None:
    """A full collection of every object, frozen ones included; then what is still alive is
    frozen (left out of Python's own collections) and the freed heap goes back."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    release_memory()


def sweep_target() -> tuple[Any, Any, asyncio.AbstractEventLoop] | None:
    """(store, its lock, the server's event loop) of this process's Streamlit runtime, or
    None outside a server or where Streamlit keeps them elsewhere."""
    try:
        rt = runtime.get_instance()
    except RuntimeError:  # no server runs in this process
        return None
    manager = getattr(rt, "_session_mgr", None)
    store = getattr(getattr(manager, "_session_storage", None), "_cache", None)
    lock = getattr(manager, "_storage_lock", None)
    get_async = getattr(rt, "_get_async_objs", None)
    if not callable(getattr(store, "expire", None)) or lock is None or get_async is None:
        return None
    return store, lock, get_async().eventloop


def start(every: float = SWEEP_SECONDS, target: Callable = sweep_target) -> bool:
    """Sweep this server's closed sessions every ``every`` seconds, from now on (once per
    process; later calls do nothing). False where there is nothing to sweep."""
    if _started.is_set() or (found := target()) is None:
        return False
    _started.set()
    store, lock, loop = found

    async def sweep_forever() -> None:
        await asyncio.sleep(every)
        collect_all()  # the modules the first pages imported
        while True:
            drop_expired(store, lock)  # on the loop: where Streamlit closes sessions
            await asyncio.sleep(every)

    asyncio.run_coroutine_threadsafe(sweep_forever(), loop)
    return True
