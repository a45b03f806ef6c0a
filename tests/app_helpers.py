"""Helpers for driving the app's pages in Streamlit's AppTest (imported by conftest)."""

import base64
import pathlib

import numpy as np
from streamlit.testing.v1 import AppTest

from gru_viz.ui.state import Frame, Lab, Playground
from gru_viz.ui.weights_editor import GATE_TITLES
from tests.ws_client import figure_bytes, figure_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAYGROUND, STEP = "pages/1_Playground.py", "pages/2_Step_through.py"
PORTRAIT, MEMORY = "pages/3_Phase_portrait.py", "pages/4_Memory_and_gradients.py"


def open_page(page: str | None = None, **params: str) -> AppTest:
    """A fresh session on one page, as when its URL is opened (query parameters included)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update(params)
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart's spec, typed arrays decoded."""
    def decode(v):
        if isinstance(v, dict) and set(v) >= {"dtype", "bdata"}:
            return np.frombuffer(base64.b64decode(v["bdata"]), np.dtype(v["dtype"]))
        if isinstance(v, dict):
            return {k: decode(x) for k, x in v.items()}
        if isinstance(v, list):
            return [decode(x) for x in v]
        return v
    return [decode(spec) for spec in map(figure_spec, _walk(at._tree)) if spec is not None]


def chart_bytes(at: AppTest) -> list[int]:
    """The bytes of JSON each Plotly chart sends, in page order."""
    return [n for n in map(figure_bytes, _walk(at._tree)) if n is not None]


def _walk(node):
    """Every element under ``node`` in page order."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for k in sorted(children):
        yield from _walk(children[k])


def heatmap(at: AppTest, row: int) -> np.ndarray:
    """Row 0..3 of the playground's heatmaps (update, reset, candidate, state) as (H, T)."""
    m = charts(at)[0]["data"][row]
    return m["z"].reshape(len(m["y"]), -1)


def open_gate(at: AppTest, gate: str) -> None:
    """Open the weights tab of ``gate`` ("z", "r" or "n"), as a click on it would."""
    label = next(t.label for t in at.tabs if t.label.startswith(GATE_TITLES[gate]))
    at.session_state[Playground.gate_tabs(at.session_state[Frame.notation.key]).key] = label
    at.session_state[Lab.gate.key] = gate
    at.run()


def weight_slider(at: AppTest, name: str):
    """The slider of one weight (its key also carries the weights' version), its gate's tab
    opened first when needed (only the open tab is drawn)."""
    if not any(s.key.startswith(f"pg.{name}.") for s in at.slider):
        # W_in -> n, b_hz -> z; course names: W_cx -> n, b_u -> z
        open_gate(at, name[3] if name[2] in "ih" else {"u": "z", "r": "r", "c": "n"}[name[2]])
    return next(s for s in at.slider if s.key.startswith(f"pg.{name}."))


def page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/5_Explorer.py")  # entered from the home page, as the frame expects
    return at.run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value((name, data, "application/octet-stream")).run()
    return at


def showing(at: AppTest) -> str:
    return " ".join(c.value for c in at.caption)


def entered(path: str) -> AppTest:
    """A fresh session opened on one page, as by its URL (the app is the entry point)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    return at.run()
