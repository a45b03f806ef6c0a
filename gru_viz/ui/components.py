"""Declaring gru-viz's Streamlit components (components v2: inline, no iframe, no build step).

Each component's script is a file beside this module that ends with ``export default
mounted(Widget)``; ``components.js`` (the mount code and the DOM helpers every component uses)
is put before it, so that code is written once.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st

HERE = pathlib.Path(__file__).parent


def declare(name: str, script: str, css: str | None = None,
            constants: Mapping[str, Any] | None = None, **kwargs: Any) -> Callable[..., Any]:
    """``st.components.v2.component`` ``name`` running ``components.js`` then ``script`` (a
    file name here); ``css``, if given, a file name here too. ``constants``: names the script
    reads, given once here rather than in every run's data (JSON values)."""
    consts = [f"const {k} = {json.dumps(v)};" for k, v in (constants or {}).items()]
    js = "\n".join(consts + [(HERE / f).read_text(encoding="utf-8")
                              for f in ("components.js", script)])
    if css is not None:
        kwargs["css"] = (HERE / css).read_text(encoding="utf-8")
    return st.components.v2.component(name, js=js, **kwargs)
