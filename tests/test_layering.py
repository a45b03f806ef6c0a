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


def module_level_imports(path: pathlib.Path) -> set[str]:
    """Imports that run when the module is imported: its body's, not those inside functions
    or under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.If)
                                          and ast.unparse(n.test) == "TYPE_CHECKING")]
    names = set()
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # class bodies of the core hold only methods and fields
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
    return names


# The core's objects display themselves (trace.heatmaps(), a notebook summary): they import
# this one module of figures lazily, inside the methods, and nothing else above the core.
LAZY_DISPLAY = "gru_viz.figures.notebook"


def test_only_the_ui_package_imports_streamlit():
    for path in LIBRARY.rglob("*.py"):
        if "ui" in path.relative_to(LIBRARY).parts:
            continue
        mods = imported_modules(path)
        assert "streamlit" not in mods, path
        assert not any(m.startswith("gru_viz.ui") for m in mods), path
        assert not {"pages", "app"} & mods, path


def test_plotly_only_in_figures():
    for path in [*LIBRARY.rglob("*.py"), ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        if "plotly" in imported_modules(path):
            assert path.is_relative_to(LIBRARY / "figures"), path


def test_core_imports_nothing_above_it():
    for path in (LIBRARY / "core").rglob("*.py"):
        mods = module_level_imports(path)
        outside = {m for m in mods if m.startswith("gru_viz") and not m.startswith("gru_viz.core")}
        assert not outside, (path, outside)
        lazy = {m for m in imported_modules(path)
                if m.startswith("gru_viz.") and not m.startswith("gru_viz.core")}
        assert lazy <= {LAZY_DISPLAY, "gru_viz.figures"}, (path, lazy)


def test_import_and_summaries_need_no_plotly():
    code = ("import sys; sys.modules['plotly'] = None; sys.modules['kaleido'] = None\n"
            "import numpy as np, gru_viz\n"
            "tr = gru_viz.run(gru_viz.GRUModel.random(2, 3), np.ones((4, 2)))\n"
            "assert 'hidden size: 3' in repr(tr) and '<table>' in tr._repr_html_()\n"
            "try:\n    tr.heatmaps()\nexcept ImportError as e:\n    assert 'Plotly' in str(e)\n"
            "else:\n    raise AssertionError('no plotly, yet a figure')\n"
            "assert 'plotly' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_numpy_core_imports_and_runs_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, gru_viz\n"
            "tr = gru_viz.run(gru_viz.GRUModel.random(2, 3), np.ones((4, 2)))\n"
            "assert tr.output.shape == (4, 3)\n"
            "import gru_viz.io.inputs, gru_viz.core.weights, gru_viz.core.model\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_torch_is_imported_at_module_level_only_by_the_torch_engine():
    """Everywhere else torch (and the other optional readers' libraries) is imported inside
    the functions that need it, so that the library imports without them."""
    optional = {"torch", "safetensors", "keras", "onnx", "h5py", "dask", "distributed"}
    for path in LIBRARY.rglob("*.py"):
        found = {m for m in module_level_imports(path) if m.split(".")[0] in optional}
        if path.relative_to(LIBRARY).as_posix() == "core/torch_engine.py":
            continue
        assert not found, (path, found)


def test_the_library_below_the_ui_does_not_import_figures_or_ui_at_import_time():
    for part in ("core", "io", "analysis", "teaching", "training"):
        for path in (LIBRARY / part).rglob("*.py"):
            above = {m for m in module_level_imports(path)
                     if m.startswith(("gru_viz.figures", "gru_viz.ui"))}
            assert not above, (path, above)


def test_no_module_shares_its_name_with_a_top_level_function_or_class():
    modules = {p.stem for p in LIBRARY.rglob("*.py")} | {p.name for p in LIBRARY.iterdir()
                                                         if p.is_dir()}
    for path in LIBRARY.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                assert node.name not in modules, (path, node.name)
