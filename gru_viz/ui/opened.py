"""The Explorer's ``?open=<token>`` parameter: a model handed over by ``gru_viz.open_in_app``.

Only a server started with ``GRUVIZ_OPEN_DIR`` reads it, and only the file the random token
names in that folder (``gru_viz.io.opened``); a link cannot name any other path. The file, once
read, stays in this session as an upload would, so it survives visits to other pages.
"""

from __future__ import annotations

import streamlit as st

from gru_viz.io.opened import PARAM, find, server_folder

KEY = "ex.opened"  # (label, bytes) of the file handed over
SEEN = "ex.opened.token"  # the token last read, so that a rerun does not read it again


def opened_file() -> tuple[str, bytes, bool] | None:
    """(label, bytes, just opened) of the handed-over file, or None; ``just opened`` is True
    on the run that follows its link (the Explorer then selects it)."""
    token = st.query_params.get(PARAM)
    if token is not None and st.session_state.get(SEEN) != token:
        st.session_state[SEEN] = token
        found = find(token) if server_folder() is not None else None
        if found is None:
            st.warning("This link names a model handed over from a notebook, which this server "
                       "does not have (it expired, or the server was not started by "
                       "gru_viz.open_in_app). Choose a model in the sidebar.")
        else:
            name, data = found
            st.session_state[KEY] = (f"from the notebook: {name}", data)
            return st.session_state[KEY] + (True,)
    kept = st.session_state.get(KEY)
    return None if kept is None else kept + (False,)
