"""The command line end to end: inspect, and trace to every format, on a checkpoint made here."""

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from gru_viz.api import trace_checkpoint
from gru_viz.cli import main
from gru_viz.core.model import GRUModel
from gru_viz.io.inputs import Vocabulary
from gru_viz.io.savefile import save_checkpoint
from tests.helpers import saved
from tests.torch_helpers import torch_gru


@pytest.fixture
def ckpt_path(tmp_path, rng):
    """A character model: embedding (5 × 3) -> 2-layer GRU (H = 4) -> head (5)."""
    path = tmp_path / "chars.pt"
    save_checkpoint(path, GRUModel.random(3, 4, num_layers=2, seed=2),
                    embedding=rng.normal(size=(5, 3)), head_weight=rng.normal(size=(5, 4)),
                    head_bias=rng.normal(size=5), vocabulary=Vocabulary(tuple("abcde")),
                    description={"task": "cli test"}, metrics={"accuracy": 0.25})
    return path


def test_inspect_prints_what_was_detected(ckpt_path, capsys):
    assert main(["inspect", str(ckpt_path)]) == 0
    out = capsys.readouterr().out
    assert "input size 3, hidden size 4, 2 layer(s)" in out
    assert "Embedding: 5 symbols × 3" in out and "Linear head 'head.weight': 4 → 5" in out
    assert "task: cli test" in out and "accuracy: 0.25" in out
    assert main(["inspect", str(ckpt_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"] == {"accuracy": 0.25} and doc["format_version"] == 1


def test_trace_to_npz_equals_the_api(ckpt_path, tmp_path, capsys):
    out = tmp_path / "t.npz"
    assert main(["trace", str(ckpt_path), "--text", "abcab", "--out", str(out)]) == 0
    assert "5 step(s), 2 cell(s)" in capsys.readouterr().out
    res = trace_checkpoint(ckpt_path, text="abcab")
    with np.load(out) as z:
        np.testing.assert_array_equal(z["l1.z"], res.trace.layers[1][0].z)
        np.testing.assert_allclose(z["probs"].sum(-1), 1.0)
        assert z["tokens"].tolist() == list("abcab")
        assert json.loads(str(z["description"]))["description"] == {"task": "cli test"}


def test_trace_to_json_csv_html(ckpt_path, tmp_path):
    for suffix in ("json", "csv", "html"):
        out = tmp_path / f"t.{suffix}"
        assert main(["trace", str(ckpt_path), "--ids", "0 4 2", "--out", str(out)]) == 0
        text = out.read_text()
        if suffix == "json":
            assert len(json.loads(text)["cells"]) == 2
        elif suffix == "csv":
            rows = list(csv.reader(io.StringIO(text)))
            assert len(rows) == 1 + 2 * 3 * 4
        else:
            assert "plotly" in text.lower() and "update gate z" in text


def test_trace_rows_on_a_plain_state_dict(tmp_path, capsys):
    sd = torch_gru(2, 3, bi=True).state_dict()
    sd["bias_hh_l0_reverse"][0] = float("inf")
    path = tmp_path / "gru.pt"
    path.write_bytes(saved(sd))
    out = tmp_path / "t.npz"
    assert main(["trace", str(path), "--rows", "1, 0; 0, 1; 0.5, 0.5", "--out", str(out)]) == 0
    assert "warning: NaN or inf values in bias_hh_l0_reverse" in capsys.readouterr().err
    with np.load(out) as z:
        assert z["l0_reverse.h"].shape == (3, 3) and "probs" not in z.files
        assert np.isfinite(z["l0.h"]).all()


def test_trace_input_from_csv_and_npy(tmp_path):
    path = tmp_path / "gru.pt"
    path.write_bytes(saved(torch_gru(2, 3).state_dict()))
    x = np.array([[1.0, 0.0], [0.25, -1.0]])
    (tmp_path / "x.csv").write_text("a,b\n1,0\n0.25,-1\n")
    np.save(tmp_path / "x.npy", x)
    for name in ("x.csv", "x.npy"):
        out = tmp_path / f"{name}.npz"
        assert main(["trace", str(path), "--input", str(tmp_path / name), "--out", str(out)]) == 0
        with np.load(out) as z:
            np.testing.assert_array_equal(z["l0.x"], x)


def test_user_errors_exit_2_with_a_message(ckpt_path, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["inspect", str(bad)]) == 2
    assert "error: bad.pt is not a model file gru-viz recognises" in capsys.readouterr().err
    assert main(["trace", str(ckpt_path), "--text", "abz", "--out", str(tmp_path / "x.npz")]) == 2
    assert "'z' at position 2" in capsys.readouterr().err
    assert main(["trace", str(ckpt_path), "--text", "ab", "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["trace", str(ckpt_path), "--ids", "1 x", "--out", str(tmp_path / "x.npz")]) == 2
    assert "Token 2 is 'x'" in capsys.readouterr().err


@pytest.mark.parametrize("cmd,says", [([], "inspect"), (["inspect"], "weights only"),
                                      (["trace"], "standalone interactive figure"),
                                      (["train"], "flipflop2")])
def test_help_explains_each_command(cmd, says, capsys):
    with pytest.raises(SystemExit) as done:
        main([*cmd, "--help"])
    assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "usage: python -m gru_viz" in out and says in out


def test_module_entry_point(ckpt_path, tmp_path):
    out = tmp_path / "t.npz"
    subprocess.run([sys.executable, "-m", "gru_viz", "trace", str(ckpt_path), "--text", "ab",
                    "--out", str(out)], check=True, capture_output=True)
    assert out.exists()
