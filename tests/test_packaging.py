"""What ``pip install .`` installs: every subpackage of gru_viz, the shipped models, nothing else."""

import pathlib

import pytest

from gru_viz.io.shipped import ASSETS

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_the_wheel_lists_every_subpackage_and_only_those():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "gru_viz").rglob(
        "__init__.py")}
    assert set(conf["packages"]) == found | {"gru_viz.assets"}
    assert conf["package-dir"] == {"gru_viz.assets": "assets"}


def test_every_file_the_library_reads_is_package_data():
    """Files beside the modules (the time bar's script and style) go into the wheel too."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    for path in (ROOT / "gru_viz").rglob("*"):
        if path.is_file() and path.suffix not in (".py", ".pyc"):
            package = ".".join(path.parent.relative_to(ROOT).parts)
            assert any(path.match(glob) for glob in data.get(package, ())), path


def test_one_assets_folder_for_the_app_presets_and_training():
    assert ASSETS == ROOT / "assets"  # a checkout: the top-level folder the app reads
    assert {"brackets.pt", "flipflop.pt", "gru_cell.svg"} <= {p.name for p in ASSETS.iterdir()}
    for module in ("ui/loading.py", "teaching/presets.py", "training/recipes.py"):
        assert '"assets"' not in (ROOT / "gru_viz" / module).read_text()
