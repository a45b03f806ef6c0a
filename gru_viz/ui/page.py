"""The frame every page calls first: page config, shared sidebar, session defaults.

Pages run in classic pages-folder mode and may be opened directly by URL on a fresh server,
so nothing here may assume that app.py ran before.
"""

from __future__ import annotations

import pathlib

import streamlit as st

from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.untrusted import authored, markdown_text
from gru_viz.ui.state import Frame
from gru_viz.ui.uploads import apply_server_limits

ROOT = pathlib.Path(__file__).resolve().parents[2]
LECTURE = "lecture"  # the link parameter of lecture mode: ?lecture=1
FRAME_PARAMS = (LECTURE,)  # link parameters the frame owns (pages keep them when they write)
ON = ("1", "true", "on", "yes")
# Text legible on a projector (17 px; the config's baseFontSize would be a custom theme, which
# overrides the light/dark switch). Lecture mode: larger still (Streamlit sizes its text in rem,
# so the root size scales it) and less empty margin above the page.
BASE_CSS = "<style>html{font-size:17px !important}</style>"
LECTURE_CSS = ("<style>html{font-size:20px !important}"
               "[data-testid='stMainBlockContainer']{padding-top:2.2rem !important}</style>")
# The theme: Streamlit reads ``embed_options=light_theme|dark_theme`` from the link when the
# page loads (no API sets it from Python), so the switch reloads the current link with it.
THEME_JS = """
export default function(component) {
    const { parentElement, data } = component;
    let box = parentElement.querySelector('.gv-theme');
    if (!box) {
        box = document.createElement('div');
        box.className = 'gv-theme';
        parentElement.appendChild(box);
    }
    box.innerHTML = data;
    box.querySelectorAll('a[data-theme]').forEach((a) => {
        a.onclick = (e) => {
            e.preventDefault();
            const u = new URL(window.location.href);
            u.searchParams.delete('embed_options');
            u.searchParams.append('embed_options', a.dataset.theme + '_theme');
            window.location.assign(u.toString());
        };
    });
}
"""
THEME_CSS = """
.gv-theme { font-size: 0.9rem; }
.gv-theme a { margin-right: 0.8rem; text-decoration: none; }
.gv-theme a.on { font-weight: bold; text-decoration: underline; }
"""


def pages() -> list[tuple[str, str]]:
    """(path for st.page_link, label) of every page in pages/, in file order."""
    return [(f"pages/{p.name}", p.stem.split("_", 1)[-1].replace("_", " "))
            for p in sorted((ROOT / "pages").glob("*.py"))]


def frame_params() -> dict[str, str]:
    """The frame's link parameters as they stand (a page writing its own keeps these)."""
    return {LECTURE: "1"} if Frame.lecture.get() else {}


def page_params() -> dict[str, str]:
    """The link's parameters without the frame's: what a page's own state reads."""
    return {k: v for k, v in st.query_params.to_dict().items() if k not in FRAME_PARAMS}


def _lecture_from_link() -> bool:
    linked = st.query_params.get(LECTURE)
    if linked is not None and linked != Frame.lecture_url.get():
        Frame.lecture.set(linked.strip().lower() in ON)
    Frame.lecture_url.set(linked)
    return bool(Frame.lecture.init(False))


def _lecture_switched() -> None:
    Frame.lecture.store()
    if Frame.lecture.get():
        st.query_params[LECTURE] = "1"
    else:
        st.query_params.pop(LECTURE, None)
    Frame.lecture_url.set(st.query_params.get(LECTURE))


_theme_links = None


def _theme_switch() -> None:
    """Links that reload the page, link and all, in the light or the dark theme."""
    global _theme_links
    if _theme_links is None:
        _theme_links = st.components.v2.component("gruviz_theme", html="", css=THEME_CSS,
                                                  js=THEME_JS)
    now = theme()
    links = "".join(f'<a href="#" data-theme="{t}" class="{"on" if t == now else ""}">{label}</a>'
                    for t, label in (("light", "☀ light"), ("dark", "🌙 dark")))
    _theme_links(data=f"Theme: {links}", key=Frame.theme)


def theme() -> str:
    """'light' or 'dark': the theme the browser reports (light before it has said)."""
    return getattr(st.context.theme, "type", None) or "light"


def frame(title: str, icon: str = "🔁") -> None:
    """Page config and the shared sidebar. Call first on every page."""
    lecture = _lecture_from_link()
    st.set_page_config(page_title=f"{title} · gru-viz", page_icon=icon, layout="wide",
                       initial_sidebar_state="collapsed" if lecture else "auto")
    apply_server_limits()
    if lecture and st.query_params.get(LECTURE) not in ON:  # e.g. after a page switch
        st.query_params[LECTURE] = "1"
        Frame.lecture_url.set("1")
    with st.sidebar:
        st.markdown(authored(LECTURE_CSS if lecture else BASE_CSS), unsafe_allow_html=True)
        # Our own navigation (Streamlit's is off in .streamlit/config.toml): it names the
        # home page "Home" rather than after app.py.
        st.page_link("app.py", label="Home")
        for path, label in pages():
            st.page_link(path, label=markdown_text(label))
        st.divider()
        st.radio("Notation", list(NOTATIONS), key=Frame.notation.bind("course"),
                 format_func=lambda k: markdown_text(NOTATIONS[k].name),
                 on_change=Frame.notation.store,
                 help="Course: Γu is the share of the new candidate written (Γu = 1 − z). "
                      "PyTorch: z is the share of the old state kept.")
        st.toggle("Lecture mode (projector)", key=Frame.lecture.bind(False),
                  on_change=_lecture_switched,
                  help="Larger text and the sidebar folded away; kept in the link "
                       "(?lecture=1), so a prepared link opens the lecture view.")
        _theme_switch()


def chosen_notation() -> Notation:
    """The notation the sidebar switch has chosen (course until it is touched)."""
    return NOTATIONS[Frame.notation.get()]
