"""The Explorer's ``?open=<token>`` parameter: a model handed over by ``gru_viz.open_in_app``.

Only a server started with ``GRUVIZ_OPEN_DIR`` reads it, and only the file the random token
names in that folder (``gru_viz.io.opened``); a link cannot name any other path. The file, once
read, stays in this session as an upload would, so it survives visits to other pages.
"""

from __future__ import annotations

import streamlit as st

from gru_viz.io.opened import PARAM, find, find_input, server_folder
from gru_viz.ui.state import Explorer, Slot


def opened_file() -> tuple[str, bytes, bool] | None:
    """(label, bytes, just opened) of the handed-over file, or None; ``just opened`` is True
    on the run that follows its link (the Explorer then selects it)."""
    token = st.query_params.get(PARAM)
    if token is not None and Explorer.opened_token.get() != token:
        Explorer.opened_token.set(token)
        found = find(token) if server_folder() is not None else None
        if found is None:
            st.warning("This link names a model handed over from a notebook, which this server "
                       "does not have (it expired, or the server was not started by "
                       "gru_viz.open_in_app). Choose a model in the sidebar.")
        else:
            name, data = found
            Explorer.opened.set((f"from the notebook: {name}", data))
            text = find_input(token)
            if text is not None:
                from gru_viz.ui.loading import digest

                Explorer.opened_input.set((digest(data), text))
            return Explorer.opened.get() + (True,)
    kept = Explorer.opened.get()
    return None if kept is None else kept + (False,)


def handed_input(model_digest: str, box: Slot[str]) -> None:
    """Once, when the handed-over model is loaded: fill its input ``box`` with the text
    handed over beside it."""
    pending = Explorer.opened_input.get()
    if pending is not None and pending[0] == model_digest:
        box.set(pending[1])
        Explorer.opened_input.clear()
