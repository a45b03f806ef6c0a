"""The explorer's model choice: a shipped example or an uploaded checkpoint, cached by content.

A file that fails to load shows its message while the model loaded before stays in use. The
choice and the model in use are kept in permanent session keys, so both survive a visit to
another page; an uploaded file stays in use though Streamlit empties the upload widget then.
Checkpoints are shared by every session through ``st.cache_resource``: they are frozen and their
arrays read-only, and nothing here writes to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.io.checkpoint import EXTENSIONS, Checkpoint
from gru_viz.io.shipped import ASSETS
from gru_viz.ui.loading import digest, load_cached
from gru_viz.ui.opened import handed_input, opened_file
from gru_viz.ui.page import persistent, store
from gru_viz.ui.uploads import upload

UPLOAD = "upload a file"
CURRENT = "ex.current"  # the Loaded in use (kept when a new file fails)
ERROR = "ex.load_error"  # (file digest, message) of the last failure
SOURCE = "ex.source"  # the Model selectbox's choice (permanent; the widget binds to SOURCE.w)


@dataclass(frozen=True, eq=False)
class Loaded:
    ckpt: Checkpoint
    name: str  # file name shown to the user
    key: str  # content hash + chosen GRU: identifies the model exactly, for caches


@st.cache_resource(max_entries=8, show_spinner=False)
def _select(digest: str, gru: str, _ckpt: Checkpoint) -> Checkpoint:
    return _ckpt.select(gru)


AUTO, NONE = "(as detected)", "(none)"
OWN_VOCAB = "(type one)"


@st.cache_resource(max_entries=8, show_spinner=False)
def _override(digest: str, gru: str, embedding: str, head: str, vocabulary: str | None,
              _ckpt: Checkpoint) -> Checkpoint:
    """The checkpoint with detection overridden (arguments: the widgets' values)."""
    def pick(v: str):
        return None if v == AUTO else False if v == NONE else v

    vocab = None if vocabulary is None else False if vocabulary == "" else vocabulary
    return _ckpt.select(gru, embedding=pick(embedding), head=pick(head), vocabulary=vocab)


def overrides(loaded: Loaded) -> Loaded:
    """Widgets to choose or drop the embedding, head and vocabulary when detection is wrong;
    the model to use (``loaded`` itself when nothing is overridden)."""
    ckpt, key = loaded.ckpt, loaded.key
    m = ckpt.model
    D, H, I = m.num_directions, m.hidden_size, m.input_size
    mats = [k for k, a in ckpt.tensors.items() if np.ndim(a) == 2 and k not in set(
        sum((g.keys for g in ckpt.grus), ()))]
    emb_opts = [AUTO, NONE] + [k for k in mats if np.shape(ckpt.tensors[k])[1] == I]
    head_opts = [AUTO, NONE] + [k for k in mats if np.shape(ckpt.tensors[k])[1] == D * H]
    vocab_opts = [AUTO, NONE, OWN_VOCAB]
    st.caption("Detection wrong? Choose or drop the embedding, head and vocabulary:")
    c = st.columns(3)
    base = f"ex.override.{key}"
    emb = c[0].selectbox("Embedding", emb_opts, key=persistent(f"{base}.emb", AUTO),
                         on_change=store, args=(f"{base}.emb",))
    head = c[1].selectbox("Linear head", head_opts, key=persistent(f"{base}.head", AUTO),
                          on_change=store, args=(f"{base}.head",))
    v = c[2].selectbox("Vocabulary", vocab_opts, key=persistent(f"{base}.vocab", AUTO),
                       on_change=store, args=(f"{base}.vocab",))
    vocabulary: str | None = None if v == AUTO else "" if v == NONE else None
    if v == OWN_VOCAB:
        typed = st.text_input("Vocabulary: every character is one symbol, in id order",
                              key=persistent(f"{base}.typed", ""), on_change=store,
                              args=(f"{base}.typed",), max_chars=100_000)
        vocabulary = typed or None
    if (emb, head, vocabulary) == (AUTO, AUTO, None):
        return loaded
    try:
        chosen = _override(key, ckpt.gru_name, emb, head, vocabulary, ckpt)
    except GRUVizError as exc:
        st.error(f"{markdown_text(exc)} Keeping what was detected.")
        return loaded
    return Loaded(chosen, loaded.name, f"{key}|{emb}|{head}|{vocabulary}")


def shipped() -> list[Path]:
    return sorted(p for p in ASSETS.glob("*") if p.suffix in EXTENSIONS)


def _source() -> tuple[str, bytes, str] | None:
    """(name, bytes, sha256) of the file the widgets choose, or None when none is given yet."""
    files = shipped()
    opened = opened_file()  # a model handed over by gru_viz.open_in_app (?open=...)
    options = ([opened[0]] if opened else []) + [p.name for p in files] + [UPLOAD]
    if opened and opened[2]:  # its link was just followed: preselect it
        st.session_state[SOURCE] = opened[0]
    if st.session_state.get(SOURCE) not in options:  # e.g. an example removed since
        st.session_state[SOURCE] = options[0]
    choice = st.selectbox("Model", options, key=persistent(SOURCE, options[0]), on_change=store,
                          args=(SOURCE,),
                          help="Examples are trained by `python -m gru_viz train NAME`.")
    if choice == UPLOAD:
        up = upload("Model file", type=[e.lstrip(".") for e in EXTENSIONS],
                    key="ex.upload", help="A torch state dict or Lightning checkpoint, "
                    ".safetensors, a Keras .keras or .h5 model, an .onnx model, a NumPy .npz "
                    "of GRU weights, or a capture saved by gru_viz.record(...).save(...).")
        # After a page switch the widget is empty again: the model in use (CURRENT) stays.
        return None if up is None else (up.name, up.data, up.digest)
    if opened and choice == opened[0]:
        return opened[0], opened[1], digest(opened[1])
    path = files[options.index(choice) - bool(opened)]
    data = path.read_bytes()
    return path.name, data, digest(data)


def model_picker() -> Loaded | None:
    """Widgets choosing the model; the model in use (the previous one if the new one fails)."""
    source = _source()
    if source is not None:
        name, data, key = source
        try:
            ckpt = load_cached(key, data, name)
            gru = ckpt.gru_name
            if len(ckpt.gru_names) > 1:
                kept = f"ex.gru.{key}"
                gru = st.selectbox("GRU in this file", ckpt.gru_names,
                                   key=persistent(kept, ckpt.gru_names[0]), on_change=store,
                                   args=(kept,), format_func=lambda n: n or "(top level)")
                ckpt = _select(key, gru, ckpt)
            st.session_state[CURRENT] = Loaded(ckpt, name, f"{key}:{gru}")
            handed_input(key, f"ex.input.{key}:{gru}")  # open_in_app(result): its input
            st.session_state.pop(ERROR, None)
        except GRUVizError as exc:
            st.session_state[ERROR] = str(exc)
    if ERROR in st.session_state:
        current = st.session_state.get(CURRENT)
        st.error(markdown_text(st.session_state[ERROR])
                 + (md(" Still showing {}.", current.name) if current else ""))
    return st.session_state.get(CURRENT)


def detected(loaded: Loaded) -> None:
    """What the loader found, plainly."""
    ck = loaded.ckpt
    desc = ck.description
    m = ck.model
    cols = st.columns(5)
    cols[0].metric("Layers", m.num_layers)
    cols[1].metric("Directions", m.num_directions)
    cols[2].metric("Hidden size", m.hidden_size)
    cols[3].metric("Input size", m.input_size)
    cols[4].metric("Vocabulary", len(ck.vocabulary) if ck.vocabulary else "none")
    lines = ck.summary()
    if isinstance(desc.get("description"), dict) and desc["description"].get("summary"):
        lines.insert(0, str(desc["description"]["summary"]))
    metrics = desc.get("metrics")
    if isinstance(metrics, dict) and metrics:
        lines.append("Metrics stored in the file: " + ", ".join(
            f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
    st.markdown("\n".join(f"- {markdown_text(line)}" for line in lines))
    st.caption(md("File {}, {}; reset gate ", loaded.name, desc.get("container", ""))
               + ("after the recurrent product (PyTorch)." if m.reset_after else
                  "before the recurrent product (Cho et al.)."))
