"""A float64 run of a float32 checkpoint is float64 all the way: the weights are cast before any
arithmetic, so bias sums such as b_ir + b_hr that are inexact in float32 are not rounded."""

import numpy as np
import pytest
import torch

from gru_viz.api import trace_checkpoint
from gru_viz.cli import main
from gru_viz.core.engine import run
from gru_viz.io.checkpoint import load_checkpoint
from tests.helpers import saved


def _float32_gru(L, bi, cell=False):
    torch.manual_seed(7)
    m = torch.nn.GRUCell(3, 6) if cell else torch.nn.GRU(3, 6, L, bidirectional=bi,
                                                           batch_first=True)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3)
    return m


def _inexact_bias_sums(m) -> bool:
    """Whether some b_ih + b_hh is not exact in float32 (else the test would prove nothing)."""
    sd = m.state_dict()
    for k, b_ih in sd.items():
        if k.startswith("bias_ih"):
            b_hh = sd[k.replace("bias_ih", "bias_hh")]
            exact = b_ih.double() + b_hh.double()
            if (((b_ih + b_hh).double() - exact).abs() > 0).any():
                return True
    return False


def _oracle(m, x: np.ndarray) -> np.ndarray:
    """torch's own float64 module on the same (float32) weights."""
    d = type(m)(m.input_size, m.hidden_size) if isinstance(m, torch.nn.GRUCell) else None
    xt = torch.from_numpy(x)
    with torch.no_grad():
        if d is not None:
            d.load_state_dict(m.state_dict())
            d = d.double()
            h, hs = torch.zeros(m.hidden_size, dtype=torch.float64), []
            for t in range(len(xt)):
                h = d(xt[t], h)
                hs.append(h)
            return torch.stack(hs).numpy()
        import copy
        return copy.deepcopy(m).double()(xt[None])[0][0].numpy()


CASES = [pytest.param(2, True, False, id="2-layer-bidirectional"),
         pytest.param(1, False, False, id="1-layer"),
         pytest.param(1, False, True, id="GRUCell")]


@pytest.mark.parametrize("L,bi,cell", CASES)
def test_float64_run_matches_torch_double(L, bi, cell, tmp_path):
    m = _float32_gru(L, bi, cell)
    assert _inexact_bias_sums(m)
    x = np.random.default_rng(3).normal(size=(9, 3)) * 2
    want = _oracle(m, x)
    raw = saved({"rnn": m.state_dict()})
    ckpt = load_checkpoint(raw)
    assert ckpt.model.dtype == np.float32

    tr = run(ckpt.model, x, dtype=np.float64)
    assert tr.output.dtype == np.float64
    assert np.abs(tr.output - want).max() <= 1e-10

    res = trace_checkpoint(raw, rows=x, dtype=np.float64)
    assert np.abs(res.trace.output - want).max() <= 1e-10

    path, xpath, out = tmp_path / "m.pt", tmp_path / "x.npy", tmp_path / "t.npz"
    path.write_bytes(raw)
    np.save(xpath, x)
    assert main(["trace", str(path), "--input", str(xpath), "--float64", "--out", str(out)]) == 0
    with np.load(out) as z:
        assert np.abs(z["output"] - want).max() <= 1e-10
