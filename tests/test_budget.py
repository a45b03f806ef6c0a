"""Issue 17: heavy analyses refuse, before starting, work over their budget, saying what to
reduce; the views that grow faster than T·H are windowed."""

import pathlib
import platform
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from gru_viz.analysis import dynamics as dy
from gru_viz.analysis import portrait
from gru_viz.core import budget
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel


def test_slow_points_of_a_huge_layer_are_refused_before_any_work(monkeypatch):
    """H = 2048 took 223 s and 5.8 GB; now it is refused at once (no Jacobian is built)."""
    w = GRUModel.random(2, 2048, seed=0).cells[0][0]
    monkeypatch.setattr(dy, "jacobian", lambda *a: pytest.fail("work started"))
    with pytest.raises(InputError, match="at most about"):
        dy.slow_points(w, np.zeros(2), np.zeros((10, 2048)), count=200)


def test_slow_points_use_fewer_starts_on_a_large_layer():
    assert dy.affordable_starts(24, 160) == 160
    few = dy.affordable_starts(256, 50)
    assert 1 <= few < 50
    flops, nbytes = dy.search_cost(few, 256)
    assert flops <= budget.MAX_FLOPS and nbytes <= budget.MAX_BYTES
    assert dy.affordable_starts(2048, 16) == 0


def test_recording_the_search_runs_is_bounded():
    m = GRUModel.random(3, 1024, seed=0)
    with pytest.raises(InputError, match="Shorten the input"):
        portrait.slow_point_search(m, 0, 0, np.zeros((5000, 3)), np.zeros(3))


def test_heavy_jobs_queue():
    inside, most = [0], [0]
    lock = threading.Lock()

    def job():
        with budget.heavy():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=job) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] <= budget.HEAVY_JOBS


def test_the_retention_matrix_is_windowed():
    from gru_viz.analysis import memory
    from gru_viz.core.engine import run

    m = GRUModel.random(2, 3, seed=1)
    x = np.random.default_rng(0).normal(size=(40, 2))
    cell = run(m, x).layers[0][0]
    full = memory.retention_matrix(cell, 1)
    np.testing.assert_allclose(memory.retention_matrix(cell, 1, (10, 30)), full[10:30, 10:30])
    with pytest.raises(InputError, match="Choose a window"):
        memory.retention_matrix(cell, 1, max_steps=20)
    bi = run(GRUModel.random(2, 3, bidirectional=True, seed=1), x).layers[0][1]
    np.testing.assert_allclose(memory.retention_matrix(bi, 0, (5, 25)),
                               memory.retention_matrix(bi, 0)[5:25, 5:25])


def test_alignment_of_two_long_inputs_is_refused_before_any_work(monkeypatch):
    """20,000 steps each took 34 s (quadratic)."""
    from gru_viz.analysis import units

    monkeypatch.setattr(units.difflib, "SequenceMatcher", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(InputError, match="shorter inputs"):
        units.align(["a"] * 20_000, ["a"] * 20_000)


def test_gradients_at_5000_steps_are_refused_before_any_work(monkeypatch):
    """5,000 steps took 36 s; the message says how long an input fits."""
    from gru_viz.analysis import gradients as gr

    monkeypatch.setattr(gr, "gru_connectivity", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(InputError, match=r"at most about \d+ steps"):
        gr.compare(GRUModel.random(3, 24, seed=0), np.zeros((5000, 3)), gr.Target(4999, 0),
                   timing=False)


def test_server_image_export_is_bounded_before_drawing(monkeypatch):
    """7 s and 1.3 GB a click, five at once 5.2 GB: refused above its cells, queued else."""
    import sys
    import types

    from gru_viz.figures import files

    monkeypatch.setitem(sys.modules, "kaleido", types.SimpleNamespace(
        calc_fig_sync=lambda *a, **k: pytest.fail("drew")))
    big = {"data": [{"type": "heatmap", "z": np.zeros((256, 10_000), np.float32)}],
           "layout": {}}
    with pytest.raises(InputError, match="camera button"):
        files.figure_image(big, "png")
    assert files.figure_cells(big) == 2_560_000


def test_the_trace_cache_has_a_byte_budget():
    """Four traces of up to 1 GB each stayed resident; now all of them share one budget."""
    cache = budget.ByteCache(max_bytes=10_000)
    made = []

    def make(n):
        def compute():
            made.append(n)
            return (np.zeros(n // 8),)
        return compute

    a = cache.get("a", make(4000), budget.nbytes)
    assert cache.get("a", make(4000), budget.nbytes) is a and made == [4000]
    cache.get("b", make(4000), budget.nbytes)
    cache.get("c", make(4000), budget.nbytes)  # over 10,000 bytes: "a" goes
    assert cache.bytes <= 10_000
    cache.get("a", make(4000), budget.nbytes)
    assert made == [4000, 4000, 4000, 4000]
    cache.get("huge", make(80_000), budget.nbytes)  # larger than the budget: not kept
    assert cache.bytes <= 10_000


def test_the_trace_cache_drops_entries_idle_too_long():
    """A class's traces stayed resident after it left (RSS +26%): entries idle for
    ``idle_s`` go, while those in use stay."""
    now = [0.0]
    cache = budget.ByteCache(max_bytes=10**6, idle_s=60, clock=lambda: now[0])
    for key in "abc":
        cache.get(key, lambda: (np.zeros(100),), budget.nbytes)
    now[0] = 50.0
    cache.get("a", lambda: pytest.fail("a is cached"), budget.nbytes)  # used: its clock restarts
    now[0] = 70.0
    assert cache.sweep() == 2 and cache.bytes == 800
    made = []
    cache.get("b", lambda: made.append(1) or (np.zeros(100),), budget.nbytes)
    assert made == [1]  # recomputed
    now[0] = 200.0
    assert cache.sweep() == 2 and cache.bytes == 0


def test_idle_entries_go_without_any_request():
    """Nobody calls the cache once the class has left: a background sweep drops them."""
    cache = budget.ByteCache(max_bytes=10**6, idle_s=0.05)
    cache.get("a", lambda: (np.zeros(1000),), budget.nbytes)
    deadline = time.monotonic() + 30
    while cache.bytes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.bytes == 0
    cache.get("b", lambda: (np.zeros(1000),), budget.nbytes)  # a new entry: a new sweep
    while cache.bytes and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.bytes == 0


def test_nbytes_counts_a_trace_once():
    from gru_viz.core.engine import run

    trace = run(GRUModel.random(2, 3, seed=0), np.zeros((10, 2)))
    n = budget.nbytes(trace)
    assert n >= 8 * 10 * 3 * 8 and budget.nbytes((trace, trace)) == n


def test_a_two_million_row_head_is_bounded_before_the_run(monkeypatch):
    """A 2-million-row head took 3.7 GB (2.2 GB kept in the cache)."""
    from types import SimpleNamespace

    from gru_viz.ui import explorer_input as ei

    ckpt = SimpleNamespace(head_weight=np.zeros((2_000_000, 1), np.float32),
                           model=GRUModel.random(1, 1, seed=0))
    monkeypatch.setattr(ei, "run", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(InputError, match="Shorten the input"):
        ei._run("m", "i", ckpt, np.zeros((40, 1)), False)


FREED_BLOCK = """
import sys
if sys.argv[1] == "server":
    import streamlit.runtime
    streamlit.runtime.exists = lambda: True  # as under streamlit run
if sys.argv[1] != "plain":
    import gru_viz.ui  # noqa: F401
import numpy as np

def rss():
    return int(next(x for x in open("/proc/self/status") if x.startswith("VmRSS")).split()[1])

a = np.ones(20 * 2**17)
del a  # a 20 MB block freed: glibc raises its mmap threshold past it
before = rss()
b = np.ones(16 * 2**17)  # so this one comes from the heap...
pins = [bytearray(200) for _ in range(2000)]  # ...with small blocks after it
del b
print((rss() - before) // 1024)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_the_server_returns_a_freed_large_array_to_the_system():
    """After an abusive class, large freed blocks stayed resident in the heap (+25% RSS)."""
    def resident_mb(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", FREED_BLOCK, mode], capture_output=True,
                             text=True, check=True, cwd=pathlib.Path(__file__).parents[1])
        return int(out.stdout)

    assert resident_mb("plain") >= 12  # the allocator's behaviour this guards against
    assert resident_mb("server") <= 2
    # outside a server (a notebook, a script) the allocator is left as it is: a fixed
    # threshold makes every large temporary a fresh mapping (1 MB ones: ~10x slower)
    assert resident_mb("imported") >= 12


@pytest.fixture
def fresh_libc():
    budget._glibc.cache_clear()
    yield
    budget._glibc.cache_clear()


@pytest.mark.parametrize("platform_name", ["win32", "darwin"])
def test_the_allocator_is_left_alone_off_glibc(monkeypatch, fresh_libc, platform_name):
    """``import gru_viz.ui`` tunes the allocator: on Windows ``ctypes.CDLL(None)`` raises
    TypeError, which made every page fail there; macOS's libc has no mallopt."""
    def cdll(name, *args, **kwargs):
        raise TypeError("expected str, bytes or os.PathLike object, not NoneType")

    monkeypatch.setattr(budget.sys, "platform", platform_name)
    monkeypatch.setattr(budget.ctypes, "CDLL", cdll)
    budget.large_blocks_apart()
    budget.release_memory()


def test_glibc_gets_the_fixed_threshold_and_the_trim(monkeypatch, fresh_libc):
    calls = []

    class GLibc:
        gnu_get_libc_version = object()

        def mallopt(self, *args):
            calls.append(("mallopt", *args))

        def malloc_trim(self, *args):
            calls.append(("malloc_trim", *args))

    monkeypatch.setattr(budget.sys, "platform", "linux")
    monkeypatch.setattr(budget.ctypes, "CDLL", lambda name, *a, **k: GLibc())
    budget.large_blocks_apart()
    budget.release_memory()
    assert calls == [("mallopt", budget.M_MMAP_THRESHOLD, 128 * 1024), ("malloc_trim", 0)]
