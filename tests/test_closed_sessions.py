"""Closed sessions leave the server once their time is up, shut down and collected
(gru_viz.ui.closed_sessions), not when the next visitor happens to connect."""

import asyncio
import gc
import threading
import time
import weakref
from unittest import mock

import pytest
from streamlit.runtime.memory_session_storage import MemorySessionStorage
from streamlit.runtime.session_manager import SessionInfo
from streamlit.runtime.websocket_session_manager import WebsocketSessionManager

from gru_viz.ui import closed_sessions

TTL = 0.05


@pytest.fixture(autouse=True)
def _unfrozen():
    """The sweep freezes what is alive (gc.freeze); other tests in this process must not
    inherit that."""
    yield
    gc.unfreeze()


class FakeSession:
    """Stands for an AppSession: an id, a shutdown (noted in ``shut``), and a reference cycle
    (as a real session and its script runner form), so that only a full collection frees it."""

    def __init__(self, sid: str, shut: list[str]):
        self.id, self.shut = sid, shut
        self.me = self

    def shutdown(self) -> None:
        self.shut.append(self.id)


def stored(storage: MemorySessionStorage, sid: str, shut: list[str]) -> weakref.ref:
    """A closed session put in ``storage`` as Streamlit does on a disconnect; a weak
    reference to it (the store holds the only strong one)."""
    session = FakeSession(sid, shut)
    storage.save(SessionInfo(client=None, session=session))
    return weakref.ref(session)


def test_streamlit_keeps_an_expired_session_until_the_next_save():
    """The premise: the store hides an expired session but keeps it in memory."""
    storage = MemorySessionStorage(ttl_seconds=TTL)
    gone = stored(storage, "a", [])
    time.sleep(2 * TTL)
    gc.collect()
    assert storage.get("a") is None and storage.list() == []
    assert gone() is not None


def test_an_expired_session_is_shut_down_and_freed():
    storage, shut = MemorySessionStorage(ttl_seconds=TTL), []
    gone = stored(storage, "a", shut)
    time.sleep(2 * TTL)
    assert closed_sessions.drop_expired(storage._cache, threading.Lock()) == 1
    assert shut == ["a"]
    assert gone() is None  # the sweep collected its cycle: nobody else has to


def test_what_died_since_the_last_freeze_goes_with_the_next_drop():
    """The sweep freezes what it leaves alive, so that Python's own full collections skip
    the server's long-lived objects; a frozen cycle that dies later is freed by the next
    sweep that drops a session, not kept for good."""
    cycle = FakeSession("a page's last run", [])
    gone = weakref.ref(cycle)
    closed_sessions.collect_all()
    assert gc.get_freeze_count() > 0
    del cycle
    gc.collect()
    assert gone() is not None  # frozen: left out of Python's collections
    storage = MemorySessionStorage(ttl_seconds=TTL)
    stored(storage, "b", [])
    time.sleep(2 * TTL)
    assert closed_sessions.drop_expired(storage._cache, threading.Lock()) == 1
    assert gone() is None


def test_a_session_within_its_time_is_kept():
    storage, shut = MemorySessionStorage(ttl_seconds=60), []
    kept = stored(storage, "a", shut)
    assert closed_sessions.drop_expired(storage._cache, threading.Lock()) == 0
    assert shut == [] and storage.get("a").session is kept()


def test_the_sweep_finds_streamlits_store():
    """On the pinned Streamlit the private attributes it reaches are where it expects them:
    the session manager's store of closed sessions, the store's lock, the event loop."""
    storage = MemorySessionStorage(ttl_seconds=TTL)
    manager = WebsocketSessionManager(storage, mock.Mock(), mock.Mock(), mock.Mock())
    rt = mock.Mock(_session_mgr=manager)
    with mock.patch.object(closed_sessions.runtime, "get_instance", return_value=rt):
        store, lock, loop = closed_sessions.sweep_target()
    assert store is storage._cache and lock is manager._storage_lock
    assert loop is rt._get_async_objs().eventloop


def test_nothing_to_sweep_without_a_server():
    assert closed_sessions.sweep_target() is None
    assert not closed_sessions.start()


def test_the_sweep_runs_on_the_servers_loop_until_the_session_is_gone():
    storage, shut = MemorySessionStorage(ttl_seconds=TTL), []
    stored(storage, "a", shut)
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    try:
        with mock.patch.object(closed_sessions, "_started", threading.Event()):
            target = lambda: (storage._cache, threading.Lock(), loop)  # noqa: E731
            assert closed_sessions.start(every=TTL, target=target)
            assert not closed_sessions.start(every=TTL, target=target)  # once per process
            deadline = time.monotonic() + 10
            while not shut and time.monotonic() < deadline:
                time.sleep(TTL)
        assert shut == ["a"]
    finally:
        asyncio.run_coroutine_threadsafe(cancel_others(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()


async def cancel_others() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
