"""The explorer's model choice (``ui.model_choice``, shared with the dynamics pages, over the
shipped files and a model handed over by ``open_in_app``), detection overrides, and what the
loader found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.io.checkpoint import EXTENSIONS, Checkpoint
from gru_viz.io.shipped import ASSETS
from gru_viz.ui.loading import shared
from gru_viz.ui.model_choice import Loaded, Picker, choose
from gru_viz.ui.opened import handed_input, opened_file
from gru_viz.ui.state import Explorer

UPLOAD = "upload a file"


AUTO, NONE = "(as detected)", "(none)"
OWN_VOCAB = "(type one)"


def _override(digest: str, gru: str, embedding: str, head: str, vocabulary: str | None,
              ckpt: Checkpoint) -> Checkpoint:
    """The checkpoint with detection overridden (arguments: the widgets' values), shared."""
    def pick(v: str):
        return None if v == AUTO else False if v == NONE else v

    vocab = None if vocabulary is None else False if vocabulary == "" else vocabulary
    return shared(("override", digest, gru, embedding, head, vocabulary),
                  lambda: ckpt.select(gru, embedding=pick(embedding), head=pick(head),
                                      vocabulary=vocab))


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
    kept = {part: Explorer.override(key, part) for part in ("emb", "head", "vocab", "typed")}
    emb = c[0].selectbox("Embedding", emb_opts, key=kept["emb"].bind(AUTO),
                         on_change=kept["emb"].store)
    head = c[1].selectbox("Linear head", head_opts, key=kept["head"].bind(AUTO),
                          on_change=kept["head"].store)
    v = c[2].selectbox("Vocabulary", vocab_opts, key=kept["vocab"].bind(AUTO),
                       on_change=kept["vocab"].store)
    vocabulary: str | None = None if v == AUTO else "" if v == NONE else None
    if v == OWN_VOCAB:
        typed = st.text_input("Vocabulary: every character is one symbol, in id order",
                              key=kept["typed"].bind(""), on_change=kept["typed"].store,
                              max_chars=100_000)
        vocabulary = typed or None
    if (emb, head, vocabulary) == (AUTO, AUTO, None):
        return loaded
    try:
        chosen = _override(key, ckpt.gru_name, emb, head, vocabulary, ckpt)
    except GRUVizError as exc:
        st.error(f"{markdown_text(exc)} Keeping what was detected.")
        return loaded
    return Loaded(chosen, loaded.name, f"{key}|{emb}|{head}|{vocabulary}")


def shipped_files() -> list[Path]:
    return sorted(p for p in ASSETS.glob("*") if p.suffix in EXTENSIONS)


PICKER = Picker(
    Explorer.model, UPLOAD, "Model file",
    upload_help="A torch state dict or Lightning checkpoint, .safetensors, a Keras .keras or "
    ".h5 model, an .onnx model, a NumPy .npz of GRU weights, or a capture saved by "
    "gru_viz.record(...).save(...).", upload_types=tuple(e.lstrip(".") for e in EXTENSIONS),
    help="Examples are trained by `python -m gru_viz train NAME`.")


def model_picker() -> Loaded | None:
    """Widgets choosing the model; the model in use (the previous one if the new one fails)."""
    files = [(p.name, p) for p in shipped_files()]
    # opened: a model handed over by open_in_app (?open=...); its input fills the box once
    return choose(PICKER, files, opened=opened_file(),
                  on_load=lambda digest, key: handed_input(digest, Explorer.input(key)))[1]


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
