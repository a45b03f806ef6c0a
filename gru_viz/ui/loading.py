"""Checkpoint files as the pages load them: one cache, keyed by content, for every page."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import streamlit as st

from gru_viz.core import budget
from gru_viz.io.checkpoint import Checkpoint, load_checkpoint

# Checkpoints, and the views of them the pages choose (another GRU, overridden detection),
# are shared read-only by every session. An upload may take GRUVIZ_MAX_UPLOAD_MB (200 MB by
# default): Streamlit's cache kept eight of them, whatever their size, for the life of the
# process. Here they share a byte budget (a view is counted with the tensors it shares) and
# go once idle for budget.IDLE_SECONDS.
CHECKPOINTS = budget.ByteCache(max_bytes=1024 * 2**20)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shared(key: tuple, make: Callable[[], Checkpoint]) -> Checkpoint:
    """The checkpoint (or view of one) for ``key``, made once while it is in use."""
    return CHECKPOINTS.get(key, make, budget.nbytes)


def load_cached(digest: str, data: bytes, name: str) -> Checkpoint:
    """The checkpoint in these bytes (``digest``: their sha256), parsed once while in use and
    shared, read-only, by every session and page."""
    def load() -> Checkpoint:
        with st.spinner("Loading the checkpoint…"):
            return load_checkpoint(data, name=name)
    return shared(("file", digest, name), load)
