import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.errors import GRUVizError, InputError, WeightsError
from gru_viz.core.limits import Limits
from gru_viz.core.model import GRUModel


def test_env_overrides_and_bad_values():
    assert Limits.from_env({"GRUVIZ_MAX_STEPS": "50"}).max_steps == 50
    assert Limits.from_env({}) == Limits()
    with pytest.raises(GRUVizError, match="GRUVIZ_MAX_HIDDEN='lots' is not a whole number"):
        Limits.from_env({"GRUVIZ_MAX_HIDDEN": "lots"})
    with pytest.raises(GRUVizError, match="must be positive"):
        Limits.from_env({"GRUVIZ_MAX_LAYERS": "0"})


def test_run_enforces_the_limits(monkeypatch):
    m = GRUModel.random(2, 4, num_layers=2)
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")
    assert run(m, np.zeros((10, 2))).steps == 10
    with pytest.raises(InputError, match="11 steps.*at most 10 .GRUVIZ_MAX_STEPS"):
        run(m, np.zeros((11, 2)))
    monkeypatch.setenv("GRUVIZ_MAX_LAYERS", "1")
    with pytest.raises(WeightsError, match="2 layers is over"):
        run(m, np.zeros((3, 2)))
    monkeypatch.delenv("GRUVIZ_MAX_LAYERS")
    monkeypatch.setenv("GRUVIZ_MAX_TRACE_MB", "1")
    with pytest.raises(InputError, match="MB, over this server's 1 MB"):
        run(m, np.zeros((800, 10, 2)))  # about 4 MB: refused before any memory is taken


def test_loader_enforces_the_model_limits(monkeypatch, tmp_path):
    torch = pytest.importorskip("torch")
    from gru_viz.core.errors import CheckpointError
    from gru_viz.io.checkpoint import load_checkpoint

    path = tmp_path / "big.pt"
    torch.save(torch.nn.GRU(2, 8, num_layers=3).state_dict(), path)
    assert load_checkpoint(path).model.num_layers == 3
    monkeypatch.setenv("GRUVIZ_MAX_LAYERS", "2")
    with pytest.raises(CheckpointError, match="big.pt: 3 layers is over"):
        load_checkpoint(path)
    monkeypatch.setenv("GRUVIZ_MAX_HIDDEN", "4")
    monkeypatch.delenv("GRUVIZ_MAX_LAYERS")
    with pytest.raises(CheckpointError, match="Hidden size 8 is over"):
        load_checkpoint(path)


def test_complex_weights_are_refused():
    w = GRUModel.random(2, 3).cells[0][0]
    with pytest.raises(WeightsError, match="complex"):
        w.replace(W_hz=w.W_hz + 1j)
