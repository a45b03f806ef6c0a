"""One model picker for every page that studies a checkpoint (the Explorer, the phase
portrait, memory and gradients): a shipped example, a handed-over or uploaded file, cached by
content, the GRU to use when a file holds several.

A file that fails to load shows its message while the model loaded before stays in use. The
choice and the model in use are kept in permanent session keys, so both survive a visit to
another page; an uploaded file stays in use though Streamlit empties the upload widget then.
Checkpoints are shared by every session through ``ui.loading``'s cache: they are frozen and
their arrays read-only, and nothing here writes to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.io.checkpoint import Checkpoint
from gru_viz.ui.loading import digest, load_cached, shared
from gru_viz.ui.state import ModelChoice
from gru_viz.ui.uploads import upload


@dataclass(frozen=True, eq=False)
class Loaded:
    ckpt: Checkpoint
    name: str  # file name shown to the user
    key: str  # content hash + chosen GRU: identifies the model exactly, for caches


@dataclass(frozen=True)
class Picker:
    """One picker's session values and wording."""

    state: ModelChoice
    upload_option: str  # the option that shows the uploader
    upload_label: str
    upload_help: str | None = None
    upload_types: tuple[str, ...] | None = None  # file endings the uploader offers
    help: str | None = None


def _select(digest: str, gru: str, ckpt: Checkpoint) -> Checkpoint:
    return shared(("gru", digest, gru), lambda: ckpt.select(gru))


def choose(p: Picker, files: Sequence[tuple[str, Path]], extra: Sequence[str] = (),
           opened: tuple[str, bytes, bool] | None = None,
           on_load: Callable[[str, str], None] | None = None) -> tuple[str, Loaded | None]:
    """The Model selectbox over ``opened`` (a handed-over file), ``files`` (label, path),
    ``extra`` options (models the caller makes) and the upload option. Returns the choice
    and the checkpoint in use: the one chosen, or the previous one when it fails or when the
    upload widget is empty (None before any loaded). ``on_load(file digest, Loaded.key)``
    runs after each successful load."""
    options = ([opened[0]] if opened else []) + [label for label, _ in files] + list(extra) \
        + [p.upload_option]
    ps = p.state
    if opened and opened[2]:  # its link was just followed: preselect it
        ps.source.set(opened[0])
    if not ps.source.is_set() or ps.source.get() not in options:  # e.g. an example removed
        ps.source.set(options[0])
    choice = st.selectbox("Model", options, key=ps.source.bind(options[0]),
                          on_change=ps.source.store,
                          help=authored(p.help) if p.help else None)  # the caller's own
    if choice in extra:
        return choice, None
    source = _source(p, choice, files, opened)
    if source is not None and _load(p, *source) and on_load is not None:
        on_load(source[2], ps.current.get().key)
    if ps.error.is_set():
        current = ps.current.get()
        st.error(markdown_text(ps.error.get())
                 + (md(" Still showing {}.", current.name) if current else ""))
    return choice, ps.current.get()


def _source(p: Picker, choice: str, files: Sequence[tuple[str, Path]],
            opened: tuple[str, bytes, bool] | None) -> tuple[str, bytes, str] | None:
    """(name, bytes, sha256) of the file chosen, or None while the upload widget is empty."""
    if choice == p.upload_option:
        up = upload(p.upload_label, key=p.state.upload, help=p.upload_help,
                    type=list(p.upload_types) if p.upload_types else None)
        # After a page switch the widget is empty again: the model in use stays.
        return None if up is None else (up.name, up.data, up.digest)
    if opened and choice == opened[0]:
        return opened[0], opened[1], digest(opened[1])
    path = dict(files)[choice]
    data = path.read_bytes()
    return path.name, data, digest(data)


def _load(p: Picker, name: str, data: bytes, key: str) -> bool:
    """Make this file the model in use, or record why it cannot be; whether it loaded."""
    try:
        ckpt = load_cached(key, data, name)
        gru = ckpt.gru_name
        if len(ckpt.gru_names) > 1:
            kept = p.state.gru(key)
            gru = st.selectbox("GRU in this file", ckpt.gru_names,
                               key=kept.bind(ckpt.gru_names[0]), on_change=kept.store,
                               format_func=lambda n: n or "(top level)")
            ckpt = _select(key, gru, ckpt)
        p.state.current.set(Loaded(ckpt, name, f"{key}:{gru}"))
        p.state.error.clear()
        return True
    except GRUVizError as exc:
        p.state.error.set(str(exc))
        return False
