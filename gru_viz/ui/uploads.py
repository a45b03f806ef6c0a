"""Every file upload of the app: one widget, capped at this server's limit, hashed once.

``st.file_uploader`` is called with ``max_upload_size`` set to GRUVIZ_MAX_UPLOAD_MB, so the
browser refuses a bigger file with a message before sending it (Streamlit's server-wide cap,
``server.maxUploadSize``, is set to the same value by ``apply_server_limits``). The content
hash that keys the caches is computed once per uploaded file, not on every rerun (0.5 s at
190 MB).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st
from streamlit import config

from gru_viz.core.limits import server_limits
from gru_viz.core.untrusted import authored
from gru_viz.ui.state import Uploads


@dataclass(frozen=True, eq=False)
class Upload:
    name: str
    data: bytes
    digest: str  # sha256 of data


def apply_server_limits() -> None:
    """Streamlit's own upload cap follows GRUVIZ_MAX_UPLOAD_MB (it is read per request)."""
    mb = server_limits().max_upload_mb
    if config.get_option("server.maxUploadSize") != mb:
        config.set_option("server.maxUploadSize", mb, "GRUVIZ_MAX_UPLOAD_MB")


def upload(label: str, key: str, max_mb: int | None = None, **kwargs) -> Upload | None:
    """A file uploader (``kwargs`` as ``st.file_uploader``'s, ``label`` Markdown written
    here); the file, or None."""
    most = server_limits().max_upload_mb
    up = st.file_uploader(authored(label), key=key, max_upload_size=min(most, max_mb or most),
                          **kwargs)
    digests = Uploads.digests.init({})
    if up is None:
        digests.pop(key, None)
        return None
    data = up.getvalue()
    known = digests.get(key)
    if known is None or known[0] != up.file_id:
        known = digests[key] = (up.file_id, hashlib.sha256(data).hexdigest())
    return Upload(up.name, data, known[1])
