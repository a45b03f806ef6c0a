"""The frame every page calls first: page config, shared sidebar, session defaults.

Pages run in classic pages-folder mode and may be opened directly by URL on a fresh server,
so nothing here may assume that app.py ran before.
"""

from __future__ import annotations

import pathlib

import streamlit as st

from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.untrusted import markdown_text
from gru_viz.ui.uploads import apply_server_limits

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Session keys shared by several pages. Widget keys are namespaced per page ("<page>.<name>").
NOTATION = "notation"


def persistent(key: str, default):
    """A value kept across pages: stored under ``key``, bound to widgets under ``key + '.w'``.

    Streamlit drops a widget's state when a page without that widget runs, so widgets bind to
    a shadow key that is refilled from the permanent one on every run.
    """
    st.session_state.setdefault(key, default)
    st.session_state[key + ".w"] = st.session_state[key]
    return key + ".w"


def store(key: str) -> None:
    """on_change callback of a widget bound by ``persistent``: keep its value."""
    st.session_state[key] = st.session_state[key + ".w"]


def pages() -> list[tuple[str, str]]:
    """(path for st.page_link, label) of every page in pages/, in file order."""
    return [(f"pages/{p.name}", p.stem.split("_", 1)[-1].replace("_", " "))
            for p in sorted((ROOT / "pages").glob("*.py"))]


def frame(title: str, icon: str = "🔁") -> None:
    """Page config and the shared sidebar. Call first on every page."""
    st.set_page_config(page_title=f"{title} · gru-viz", page_icon=icon, layout="wide")
    apply_server_limits()
    with st.sidebar:
        # Our own navigation (Streamlit's is off in .streamlit/config.toml): it names the
        # home page "Home" rather than after app.py.
        st.page_link("app.py", label="Home")
        for path, label in pages():
            st.page_link(path, label=markdown_text(label))
        st.divider()
        st.radio("Notation", list(NOTATIONS), key=persistent(NOTATION, "course"),
                 format_func=lambda k: markdown_text(NOTATIONS[k].name), on_change=store,
                 args=(NOTATION,),
                 help="Course: Γu is the share of the new candidate written (Γu = 1 − z). "
                      "PyTorch: z is the share of the old state kept.")


def notation() -> Notation:
    return NOTATIONS[st.session_state.get(NOTATION, "course")]
