"""Declaring gru-viz's Streamlit components (components v2: inline, no iframe, no build step).

Each component's script is a file beside this module that ends with ``export default
mounted(Widget)``; ``components.js`` (the mount code and the DOM helpers every component uses)
is put before it, so that code is written once.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import streamlit as st

HERE = pathlib.Path(__file__).parent


def declare(name: str, script: str, css: str | None = None, **kwargs: Any) -> Callable[..., Any]:
    """``st.components.v2.component`` ``name`` running ``components.js`` then ``script`` (a
    file name here); ``css``, if given, a file name here too."""
    js = "\n".join((HERE / f).read_text(encoding="utf-8") for f in ("components.js", script))
    if css is not None:
        kwargs["css"] = (HERE / css).read_text(encoding="utf-8")
    return st.components.v2.component(name, js=js, **kwargs)
