"""The README's "Bring your own model" section works as written: its Python blocks run in
order, then its shell lines, in a fresh folder (the repository's assets linked in)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Bring your own model")
    return text[start:text.index("\n## ", start + 3)]


def test_bring_your_own_model_section_runs(tmp_path):
    blocks = re.findall(r"```(python|bash)\n(.*?)```", section(), re.S)
    assert [k for k, _ in blocks] == ["python", "python", "bash"]
    (tmp_path / "assets").symlink_to(ROOT / "assets")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    for kind, code in blocks:
        cmd = [sys.executable, "-c", code] if kind == "python" else ["bash", "-ec", code.replace(
            "python -m", f"{sys.executable} -m")]
        done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (code, done.stderr[-2000:])
        if kind == "python" and "record" in code:
            shape, err = done.stdout.split("\n")[:2]
            assert shape == "(4, 20, 16)" and float(err) <= 1e-5
    assert (tmp_path / "run.html").stat().st_size > 1000
