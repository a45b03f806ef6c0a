"""Python time of one rerun of the Playground at its default size (goal: ≤ 100 ms).

Each rerun follows a slider change, so the model is rerun and both figures rebuilt, as when a
teacher drags a weight. Prints the median of several AppTest reruns and its ratio to the goal.
Usage: python benchmarks/bench_playground.py [reruns]
"""

import pathlib
import statistics
import sys
import time

from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.app_helpers import weight_slider  # noqa: E402

GOAL_MS = 100.0


def main(reruns: int = 15) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/1_Playground.py")
    at.run()  # first run: imports and caches, not measured
    times = []
    for k in range(reruns):
        # the candidate's input weight (W_cx in the course notation, the default)
        weight_slider(at, "W_cx.0.0").set_value(round(0.5 + 0.1 * (k % 10), 1))
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        assert not at.exception, at.exception
    median = statistics.median(times)
    print(f"playground rerun after a weight change (hidden 2, input 1, T=8, the open tab's "
          f"{len(at.slider)} sliders): "
          f"median {median:.1f} ms over {reruns} reruns (min {min(times):.1f}, "
          f"max {max(times):.1f}); {median / GOAL_MS:.2f}× the {GOAL_MS:.0f} ms goal")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
