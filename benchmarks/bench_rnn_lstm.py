"""Time per step of torch.nn.GRU vs vanilla RNN vs LSTM of the same size, measured in one run.

    python benchmarks/bench_rnn_lstm.py [--rounds 5]

The course notes say a GRU computes faster than an LSTM (3 gates to 4). For each hidden size,
float32 on the CPU, B = 1, T = 200, prints the median over rounds of the best-of-7 time per step
(``gru_viz.gradients.seconds_per_step``), with torch's default oneDNN setting and with oneDNN
off, and the ratios LSTM/GRU and RNN/GRU. Rounds interleave the models, so that machine noise
hits all of them alike.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from gru_viz.analysis.gradients import KINDS, baseline_module, seconds_per_step  # noqa: E402
from gru_viz.core.model import GRUModel  # noqa: E402

I = 16


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"{'H':>4} {'oneDNN':>6} " + " ".join(f"{k + ' µs':>15}" for k in KINDS)
          + f" {'LSTM/GRU':>9} {'RNN/GRU':>8}")
    for H in (16, 64, 256):
        model = GRUModel.random(I, H)
        modules = {k: baseline_module(k, model) for k in KINDS}
        for onednn in (True, False):
            times: dict[str, list[float]] = {k: [] for k in KINDS}
            for _ in range(args.rounds):
                for k in KINDS:
                    times[k].append(seconds_per_step(modules[k], I, onednn=onednn))
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{H:>4} {'on' if onednn else 'off':>6} "
                  + " ".join(f"{med[k] * 1e6:>15.1f}" for k in KINDS)
                  + f" {med['LSTM'] / med['GRU']:>9.2f} {med['vanilla RNN'] / med['GRU']:>8.2f}")


if __name__ == "__main__":
    main()
