"""Issue 17: no cache keeps memory for the life of the server. Every Streamlit cache in the app
bounds its entries in number and in time; the large ones (traces, checkpoints, statistics
files) are ``budget.ByteCache``s, with a byte budget and idle expiry (tests/test_budget.py)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _caches():
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "gru_viz").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("cache_data", "cache_resource"):
                yield path.relative_to(ROOT).as_posix(), node


def _decorators(path: str):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            for d in fn.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                if isinstance(target, ast.Attribute) and target.attr in ("cache_data",
                                                                         "cache_resource"):
                    yield fn.name, d


def test_every_streamlit_cache_is_bounded_in_entries_and_time():
    files = sorted({path for path, _ in _caches()})
    assert files, "no caches found: the scan is broken"
    found = 0
    for path in files:
        for name, d in _decorators(path):
            found += 1
            given = {k.arg for k in d.keywords} if isinstance(d, ast.Call) else set()
            assert "max_entries" in given, f"{path}:{name} keeps any number of entries"
            assert "ttl" in given, f"{path}:{name} keeps its entries for ever"
    assert found == len(list(_caches())), "a cache used other than as a decorator"
