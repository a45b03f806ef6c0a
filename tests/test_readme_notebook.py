"""The README's "Python: figures in a notebook" section works as written, and its two shortest
paths are three lines each, the import included (issue 14)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOWN = "\nassert type(_).__name__ == 'Figure', type(_)\n"


def blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Python: figures in a notebook")
    return re.findall(r"```python\n(.*?)```", text[start:text.index("\n## ", start + 3)], re.S)


def _last_is_shown(code: str) -> str:
    """The block with its last line (what a notebook displays) kept as ``_``."""
    *head, last = code.strip().splitlines()
    return "\n".join(head + [f"_ = {last}"]) + SHOWN


def test_from_a_checkpoint_and_from_a_live_module_in_three_lines(tmp_path):
    checkpoint, live = blocks()
    assert [len(b.strip().splitlines()) for b in (checkpoint, live)] == [3, 3]
    (tmp_path / "assets").symlink_to(ROOT / "assets")
    setup = ("import torch\ntorch.manual_seed(0)\n"
             "model = torch.nn.GRU(3, 8, batch_first=True).eval()\nx = torch.randn(2, 10, 3)\n")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1",
           "GRUVIZ_NOTEBOOK_PNG": "0"}
    for code in (_last_is_shown(checkpoint), setup + _last_is_shown(live)):
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (code, done.stderr[-2000:])
