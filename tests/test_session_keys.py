"""Session state is read and written through ``gru_viz.ui.state``'s typed slots: every key is
written once there, so no page or module spells one (or builds one from text) itself."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
ACCESSORS = ROOT / "gru_viz" / "ui" / "state.py"


def streamlit_sources() -> list[pathlib.Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")),
             *sorted((ROOT / "gru_viz" / "ui").glob("*.py"))]
    return [f for f in files if f != ACCESSORS]


def is_state(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "session_state"


def spelled(node: ast.AST) -> bool:
    """Whether an expression holds literal text: "lab.step", f"pp.{k}", key + ".w"."""
    return any(isinstance(n, ast.JoinedStr) or (isinstance(n, ast.Constant)
                                                and isinstance(n.value, str))
               for n in ast.walk(node))


def spelled_keys(tree: ast.AST) -> list[str]:
    """Every place a session key is spelled: an index, a method's key, an ``in`` test, the
    keys of ``update({...})``, or the key of the old ``persistent``/``store`` helpers."""
    found = []
    for node in ast.walk(tree):
        keys = []
        if isinstance(node, ast.Subscript) and is_state(node.value):
            keys = [node.slice]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and is_state(node.func.value):
            keys = node.args[:1] if node.func.attr != "update" else [
                k for a in node.args if isinstance(a, ast.Dict) for k in a.keys if k]
            keys += [k.value for k in node.keywords if k.arg is None]
        elif isinstance(node, ast.Compare) and any(is_state(c) for c in node.comparators):
            keys = [node.left]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("persistent", "store"):
            keys = node.args[:1]
        found += [f"line {node.lineno}: {ast.unparse(node)[:80]}" for k in keys if spelled(k)]
    return found


def test_no_module_spells_a_session_key():
    spelt = {str(f.relative_to(ROOT)): spelled_keys(ast.parse(f.read_text()))
             for f in streamlit_sources()}
    assert not {f: s for f, s in spelt.items() if s}


def test_session_state_only_through_the_accessors():
    users = {str(f.relative_to(ROOT)) for f in streamlit_sources()
             if any(is_state(n) for n in ast.walk(ast.parse(f.read_text())))}
    assert not users, users


def test_the_scan_finds_every_spelling():
    """The scan itself: each way of spelling a key is caught, the accessors' way is not."""
    caught = ['st.session_state["pp.bz"]', 'st.session_state[f"pp.{k}"] = 1',
              'st.session_state.get("ex.view")', 'st.session_state.setdefault(key + ".w", 0)',
              'st.session_state.pop("a", None)', 'st.session_state.update({"pp.bz": 1})',
              '"lesson.url" in st.session_state', 'del st.session_state["x"]',
              'persistent("mg.view", 0)', 'store(f"{base}.emb")']
    for code in caught:
        assert spelled_keys(ast.parse(code)), code
    fine = ["st.session_state[slot.key]", "Phase.param(k).get()", "st.session_state.get(KEY)",
            'st.query_params["step"]', 'x = {"a": 1}["a"]']
    for code in fine:
        assert not spelled_keys(ast.parse(code)), code


def test_every_key_is_defined_once():
    """No two slots share a key (two areas writing one value by accident)."""
    tree = ast.parse(ACCESSORS.read_text())
    keys = [n.args[0].value for n in ast.walk(tree)
            if isinstance(n, ast.Call) and ast.unparse(n.func).split("[")[0] == "Slot"
            and isinstance(n.args[0], ast.Constant)]
    assert len(keys) > 20
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
