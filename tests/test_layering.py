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


def test_plotly_only_in_figure_modules():
    for path in LIBRARY.rglob("*.py"):
        if "plotly" in imported_modules(path):
            assert "fig" in path.stem or "ui" in path.relative_to(LIBRARY).parts, path


def test_numpy_core_imports_and_runs_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, gru_viz\n"
            "tr = gru_viz.run(gru_viz.GRUModel.random(2, 3), np.ones((4, 2)))\n"
            "assert tr.output.shape == (4, 3)\n"
            "import gru_viz.inputs, gru_viz.weights, gru_viz.model\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
