"""Task data is what it claims, training is reproducible, shipped models keep their metrics."""

from platform import python_version

import numpy as np
import pytest

from gru_viz.io.checkpoint import load_checkpoint
from gru_viz.io.shipped import ASSETS
from gru_viz.training import tasks
from gru_viz.training.recipes import RECIPES, evaluate, train


def test_bracket_depth_and_nesting_are_true():
    data = tasks.brackets(50, 40, seed=3, max_depth=5)
    for text, depth in zip(data.texts, data.depth):
        stack = []
        for c, d in zip(text, depth):
            if c in tasks.OPENERS:
                stack.append(tasks.CLOSERS[tasks.OPENERS.index(c)])
            else:
                assert stack.pop() == c  # every closer matches the innermost opener
            assert len(stack) == d <= 5
    again = tasks.brackets(50, 40, seed=3, max_depth=5)
    assert again.texts == data.texts and tasks.brackets(50, 40, seed=4).texts != data.texts


def test_flipflop_targets_hold_the_last_pulse():
    x, y = tasks.flipflop(20, 30, 3, seed=1, p_pulse=0.2)
    assert set(np.unique(x)) <= {-1.0, 0.0, 1.0} and (x[:, 0] != 0).all()
    held = np.zeros(3)
    for b in range(20):
        for t in range(30):
            held = np.where(x[b, t] != 0, x[b, t], held)
            np.testing.assert_array_equal(y[b, t], held)
    np.testing.assert_array_equal(tasks.flipflop(20, 30, 3, seed=1, p_pulse=0.2)[0], x)


def test_python_source_is_deterministic_and_held_out_text_differs():
    train_text = tasks.python_source(20_000, seed=0)
    assert train_text == tasks.python_source(20_000, seed=0) and len(train_text) == 20_000
    assert set(train_text) <= set(tasks.SOURCE_SYMBOLS) and "def " in train_text
    assert tasks.python_source(20_000, seed=0, skip=20_000)[:2000] not in train_text


@pytest.mark.parametrize("name", ["brackets", "flipflop2"])
def test_same_seed_same_metrics(name, tmp_path):
    quiet = lambda s: None  # noqa: E731
    a = train(name, tmp_path / "a.pt", steps=3, log=quiet)
    b = train(name, tmp_path / "b.pt", steps=3, log=quiet)
    assert a == b
    ka, kb = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert ka.model.equals(kb.model)
    other = train(name, tmp_path / "c.pt", steps=3, seed=1, log=quiet)
    assert other != a
    assert ka.description["training"]["command"].endswith(f"train {name} --steps 3 --seed 0")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_model_reevaluates_to_its_recorded_metrics(name):
    ckpt = load_checkpoint(ASSETS / f"{name}.pt")
    desc = ckpt.description
    if RECIPES[name].task == "pysource" and desc["training"]["python"] != python_version():
        pytest.skip("held-out text is this Python's standard library, not the one trained on")
    assert desc["training"]["command"] == f"python -m gru_viz train {name}"
    assert desc["training"]["steps"] == RECIPES[name].steps
    recorded = desc["metrics"]
    assert evaluate(ckpt, RECIPES[name]) == pytest.approx(recorded, rel=1e-6, abs=1e-9)
    assert ckpt.warnings == () and ckpt.head_weight is not None


def test_shipped_models_learned_their_task_and_stay_small():
    metrics = {n: load_checkpoint(ASSETS / f"{n}.pt").description["metrics"] for n in RECIPES}
    assert metrics["flipflop"]["sign_accuracy"] > 0.99
    assert metrics["flipflop2"]["sign_accuracy"] > 0.99
    b = metrics["brackets"]
    assert b["closing_accuracy"] > 0.9 and abs(b["depth_correlation"]) > 0.8
    assert metrics["pysource"]["bits_per_char"] < 3.0
    assert sum(p.stat().st_size for p in ASSETS.iterdir()) < 10 * 2**20
