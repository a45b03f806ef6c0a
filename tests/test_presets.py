"""Each preset shows its idea in the recorded numbers, under both reset placements."""

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.teaching.presets import (
    COUNTER,
    LATCH,
    LEAKY,
    PRESETS,
    RESET,
    Preset,
    all_presets,
    extra_presets,
    trained_presets,
)


def trace(p: Preset, reset_after: bool, x=None):
    return run(p.model(reset_after), p.inputs() if x is None else x).layers[0][0]


@pytest.mark.parametrize("key", list(PRESETS))
def test_both_reset_placements_agree_and_inputs_fit(key):
    p = PRESETS[key]
    a, b = trace(p, True), trace(p, False)
    assert p.inputs().shape[1] == p.weights.input_size
    np.testing.assert_allclose(a.h, b.h, atol=1e-12)
    assert p.explanation and p.look_for and p.title


@pytest.mark.parametrize("reset_after", [True, False])
def test_latch_keeps_the_first_input(reset_after):
    tr = trace(LATCH, reset_after)
    x0 = LATCH.inputs()[0, 0]
    assert tr.z[0].max() < 1e-3  # open at the first step: writes
    assert tr.z[1:].min() > 0.999  # shut from then on: keeps
    np.testing.assert_allclose(tr.h[:, 0], np.tanh(x0), atol=5e-3)
    # whatever follows the first input, the final state is the same
    other = np.vstack([LATCH.inputs()[:1], -LATCH.inputs()[1:]])
    np.testing.assert_allclose(trace(LATCH, reset_after, other).h[-1], tr.h[-1], atol=5e-3)


def test_leaky_units_decay_at_their_gate_rates():
    tr = trace(LEAKY, False)
    off = int(np.argmax(LEAKY.inputs()[:, 0] == 0))  # first silent step
    decay = tr.h[off:] / tr.h[off - 1:-1]  # with zero input, h_t = z h_{t-1}
    np.testing.assert_allclose(decay, tr.z[off:], rtol=1e-9)
    assert np.ptp(tr.z, axis=0).max() < 1e-12  # constant gates
    assert tr.z[0, 1] > tr.z[0, 0] + 0.3  # unit 1 remembers longer
    assert tr.h[-1, 1] > 10 * tr.h[-1, 0]


def test_reset_marker_wipes_memory():
    tr = trace(RESET, True)
    marks = np.array([c == "|" for c in RESET.text])
    assert tr.r[marks, 0].max() < 0.01 and tr.r[~marks, 0].min() > 0.99
    assert np.abs(tr.h[marks, 0]).max() < 0.01
    assert np.abs(tr.h[~marks, 0]).min() > 0.4  # elsewhere the state holds something


def test_counter_counts_each_symbol():
    tr = trace(COUNTER, False)
    for unit, sym in enumerate(COUNTER.vocabulary.symbols):
        seen = np.cumsum([c == sym for c in COUNTER.text])
        np.testing.assert_allclose(tr.h[:, unit], 1 - 0.8 ** seen, atol=0.02)
        other = np.array([c != sym for c in COUNTER.text])
        steps = np.diff(tr.h[:, unit])[other[1:]]
        assert np.abs(steps).max() < 1e-3  # flat at the other symbol


def test_extra_presets_hook():
    extra = Preset("demo", "Demo", "why", "look", LATCH.weights, LATCH.text)
    extra_presets.append(lambda: [extra])
    try:
        assert all_presets()["demo"] is extra and "latch" in all_presets()
    finally:
        extra_presets.pop()
    assert trained_presets in extra_presets  # the shipped models' source stays registered
    assert "demo" not in all_presets()


def test_trained_models_that_fit_become_presets(tmp_path):
    from gru_viz.io.savefile import save_checkpoint

    about = {"name": "tiny", "task": "flipflop", "summary": "A tiny trained flip-flop."}
    small = GRUModel.random(1, 2, seed=0)  # reset after, as PyTorch trains it
    save_checkpoint(tmp_path / "a_small.pt", small, description=about)
    save_checkpoint(tmp_path / "b_big.pt", GRUModel.random(1, 24, seed=0), description=about)
    save_checkpoint(tmp_path / "c_task.pt", small, description=about | {"task": "other"})
    (tmp_path / "d_junk.pt").write_bytes(b"not a checkpoint")
    (found,) = trained_presets(tmp_path)
    assert found.key == "trained-tiny" and found.explanation == about["summary"]
    assert found.reset_after is True and found.weights.equals(small.cells[0][0])
    x = found.inputs()
    assert x.shape[1] == 1 and set(np.unique(x)) == {-1.0, 0.0, 1.0}
