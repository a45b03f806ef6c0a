from pathlib import Path

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


def test_run_enforces_the_limits_it_is_given():
    m = GRUModel.random(2, 4, num_layers=2)
    lim = Limits(max_steps=10)
    assert run(m, np.zeros((10, 2)), limits=lim).steps == 10
    with pytest.raises(InputError, match="11 steps.*at most 10 .GRUVIZ_MAX_STEPS"):
        run(m, np.zeros((11, 2)), limits=lim)
    with pytest.raises(WeightsError, match="2 layers is over"):
        run(m, np.zeros((3, 2)), limits=Limits(max_layers=1))
    with pytest.raises(InputError, match="MB, over this server's 1 MB"):  # about 4 MB: refused
        run(m, np.zeros((800, 10, 2)), limits=Limits(max_trace_mb=1))  # before any is taken


def test_the_engine_reads_no_environment(monkeypatch):
    """Server policy is applied where requests come in (loader, pages, command line)."""
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")
    assert run(GRUModel.random(2, 4), np.zeros((11, 2))).steps == 11
    src = (Path(__file__).resolve().parents[1] / "gru_viz" / "core" / "engine.py").read_text()
    assert "os.environ" not in src and "server_limits(" not in src


def test_the_command_line_applies_the_server_limits(monkeypatch, tmp_path, capsys):
    from gru_viz.cli import main
    from gru_viz.io.savefile import save_checkpoint

    path = tmp_path / "m.pt"
    save_checkpoint(path, GRUModel.random(2, 3))
    rows = "; ".join(["0, 1"] * 11)
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")
    assert main(["trace", str(path), "--rows", rows, "--out", str(tmp_path / "t.npz")]) == 2
    assert "at most 10 (GRUVIZ_MAX_STEPS)" in capsys.readouterr().err
    monkeypatch.delenv("GRUVIZ_MAX_STEPS")
    assert main(["trace", str(path), "--rows", rows, "--out", str(tmp_path / "t.npz")]) == 0


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
