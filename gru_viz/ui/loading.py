"""Checkpoint files as the pages load them: one cache, keyed by content, for every page."""

from __future__ import annotations

import hashlib

import streamlit as st

from gru_viz.io.checkpoint import Checkpoint, load_checkpoint


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_resource(max_entries=8, show_spinner="Loading the checkpoint…")
def load_cached(digest: str, _data: bytes, name: str) -> Checkpoint:
    """The checkpoint in these bytes (``digest``: their sha256), parsed once per process and
    shared, read-only, by every session and page."""
    return load_checkpoint(_data, name=name)
