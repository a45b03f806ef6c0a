"""Imports point one way: the core never imports streamlit, and the NumPy core needs no torch."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "gru_viz"


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module if node.module.startswith("gru_viz") else node.module.split(".")[0])
    return names


def test_only_the_ui_package_imports_streamlit():
    for path in LIBRARY.rglob("*.py"):
        if "ui" in path.relative_to(LIBRARY).parts:
            continue
        mods = imported_modules(path)
        assert "streamlit" not in mods, path
        assert not any(m.startswith("gru_viz.ui") for m in mods), path
        assert not {"pages", "app"} & mods, path


def test_plotly_only_in_figures_and_ui():
    for path in LIBRARY.rglob("*.py"):
        if "plotly" in imported_modules(path):
            assert path.relative_to(LIBRARY).parts[0] in {"figures", "ui"}, path


def test_core_imports_nothing_above_it():
    for path in (LIBRARY / "core").rglob("*.py"):
        mods = imported_modules(path)
        outside = {m for m in mods if m.startswith("gru_viz.") and not m.startswith("gru_viz.core")}
        assert not outside, (path, outside)


def test_numpy_core_imports_and_runs_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, gru_viz\n"
            "tr = gru_viz.run(gru_viz.GRUModel.random(2, 3), np.ones((4, 2)))\n"
            "assert tr.output.shape == (4, 3)\n"
            "import gru_viz.io.inputs, gru_viz.core.weights, gru_viz.core.model\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
