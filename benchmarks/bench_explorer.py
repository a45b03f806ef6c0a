"""Explorer with a large model: Python time of one rerun once the trace is cached, and the
bytes each chart sends.

A checkpoint with H = 256 (one-hot over 64 symbols, linear head) is uploaded in AppTest and run
on T = 1000 and T = 5000 characters; each view is rerun several times with nothing changed
(the trace, the unit order and the checkpoint come from the caches, the figures are rebuilt and
serialised, as on any widget change). Prints median wall and CPU times (the machine is shared:
CPU time is the rerun's own work) and the ratios to the goals: ≤ 150 ms of Python per rerun
at 256×1000, ≤ 8 MB per chart at any size.

    python benchmarks/bench_explorer.py [reruns]
"""

import io
import pathlib
import statistics
import sys
import time

import numpy as np
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gru_viz.core.model import GRUModel  # noqa: E402
from gru_viz.io.inputs import Vocabulary  # noqa: E402
from gru_viz.io.savefile import save_checkpoint  # noqa: E402
from tests.app_helpers import chart_bytes  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
GOAL_MS, GOAL_MB = 150.0, 8.0
H, V = 256, 64
VIEWS = ("Gates", "Units", "Saturation", "Unit search", "Predictions")


def checkpoint() -> bytes:
    rng = np.random.default_rng(0)
    vocab = Vocabulary(tuple(chr(c) for c in range(48, 48 + V)))
    model = GRUModel.random(V, H, seed=0, dtype=np.float32).map(  # spread gates over [0, 1]
        lambda w: w.replace(W_iz=w.W_iz * 8, W_ir=w.W_ir * 8, W_in=w.W_in * 8))
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocabulary=vocab,
                    head_weight=rng.normal(size=(V, H)).astype(np.float32),
                    head_bias=np.zeros(V, np.float32))
    return buf.getvalue()


def measure(at: AppTest, reruns: int) -> tuple[float, float, list[int]]:
    """Median wall time and median CPU time of the process (ms), and each chart's bytes.

    CPU time counts every thread of this process (AppTest runs the script in a thread, and
    waits by sleeping), so it is the rerun's own Python work even when other jobs share the
    cores; wall time also holds the waiting for a core."""
    at.run()  # builds what this view caches
    wall, cpu = [], []
    for _ in range(reruns):
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert not at.exception, at.exception
    sizes = chart_bytes(at)
    return statistics.median(wall), statistics.median(cpu), sizes


def main(reruns: int = 7) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/5_Explorer.py")
    at.run()
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.get("file_uploader")[0].set_value(("big.pt", checkpoint(), "application/octet-stream"))
    at.run()
    rng = np.random.default_rng(1)
    worst_mb = 0.0
    for T in (1000, 5000):
        at.text_area[0].set_value("".join(chr(48 + c) for c in rng.integers(0, V, T))).run()
        for view in VIEWS:
            at.radio(key="ex.view.w").set_value(view)
            ms, cpu, sizes = measure(at, reruns)
            mb = max(sizes, default=0) / 2**20
            worst_mb = max(worst_mb, mb)
            goal = f"; CPU {cpu / GOAL_MS:.2f}× the {GOAL_MS:.0f} ms goal" if T == 1000 else ""
            print(f"H={H} T={T} {view:<12} rerun median wall {ms:6.1f} ms, CPU {cpu:6.1f} ms"
                  f"{goal}; {len(sizes)} chart(s), largest {mb:.2f} MB")
    print(f"largest chart payload {worst_mb:.2f} MB: {worst_mb / GOAL_MB:.2f}× the "
          f"{GOAL_MB:.0f} MB goal")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
