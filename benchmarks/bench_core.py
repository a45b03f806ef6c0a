"""Recording every gate vs torch.nn.GRU's forward (no recording), measured in one run.

    python benchmarks/bench_core.py [--reps 15] [--threads 1]

For each (T, H, I, B), float32, prints medians of: torch.nn.GRU forward; our NumPy recording
core; the floor of T sequential recurrent products h @ W_hhᵀ alone (what no loop can beat);
and the ratios ours/torch (goal ≤ 0.7) and ours/floor (goal ≤ 2). The last column is the
matrix work that any GRU forward does, torch's included: the floor plus the input product of
all steps (one x·W_ihᵀ); as a share of torch's time it bounds what a recorder built from the
same BLAS products can reach (no recorder is faster than it). Interleaves the candidates
so that machine noise hits all of them alike. Both libraries get the same thread count
(default 1: on a shared 2-core machine, two threads per library collapse under contention).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time
from functools import partial

# The BLAS thread count is read when NumPy loads: set it before the imports below.
_threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _threads

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gru_viz.core.engine import run  # noqa: E402
from gru_viz.core.model import GRUModel  # noqa: E402

SHAPES = [(100, 16, 8, 1), (1000, 64, 32, 1), (1000, 256, 64, 1), (200, 128, 64, 32)]


def floor_fn(W_hhT: np.ndarray, B: int, T: int):
    h = np.zeros((B, W_hhT.shape[0]), np.float32)
    out = np.empty((B, W_hhT.shape[1]), np.float32)
    if B == 1:
        h, out = h[0], out[0]

    def f() -> None:
        for _ in range(T):
            np.dot(h, W_hhT, out=out)
    return f


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1, help="threads for torch and NumPy's BLAS")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, numpy {np.__version__}, torch threads "
          f"{torch.get_num_threads()}, float32, median of {args.reps} runs each")
    print(f"{'T':>5} {'H':>4} {'I':>3} {'B':>3} | {'torch ms':>9} {'ours ms':>8} {'floor ms':>9}"
          f" | {'ours/torch':>10} {'ours/floor':>10} | {'(floor+inputs)/torch':>20}")
    for T, H, I, B in SHAPES:
        torch.manual_seed(0)
        gru = torch.nn.GRU(I, H, batch_first=True)
        model = GRUModel.from_state_dict({k: v.numpy() for k, v in gru.state_dict().items()})
        x = torch.randn(B, T, I)
        x_np = x.numpy() if B > 1 else x.numpy()[0]
        fused = model.cells[0][0].fused()
        W_hhT = np.ascontiguousarray(fused["weight_hh"].T)
        W_ihT = fused["weight_ih"].T
        fns = {"torch": partial(gru, x), "ours": partial(run, model, x_np),
               "floor": floor_fn(W_hhT, B, T),
               "inputs": partial(np.dot, x.numpy().reshape(B * T, I), W_ihT)}
        times: dict[str, list[float]] = {k: [] for k in fns}
        for f in fns.values():
            f()  # warm up
        for _ in range(args.reps):
            for k, f in fns.items():
                t0 = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t0)
        m = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        ours = m["ours"]
        print(f"{T:>5} {H:>4} {I:>3} {B:>3} | {m['torch']:>9.2f} {ours:>8.2f} {m['floor']:>9.2f}"
              f" | {ours / m['torch']:>10.2f} {ours / m['floor']:>10.2f}"
              f" | {(m['floor'] + m['inputs']) / m['torch']:>20.2f}")


if __name__ == "__main__":
    main()
