"""The explorer's views beyond one input: a corpus, a second input to compare, exports."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import zipfile

import numpy as np
import streamlit as st

from gru_viz.analysis import units as an
from gru_viz.api import checkpoint_input
from gru_viz.core import budget
from gru_viz.core.errors import GRUVizError, InputError
from gru_viz.core.limits import check_unpacked, server_limits
from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures import explorer as ef
from gru_viz.figures.files import figure_html, figure_image
from gru_viz.figures.traces import step_labels
from gru_viz.io import export
from gru_viz.io.arrays import npy_header
from gru_viz.io.corpus import text_documents
from gru_viz.io.inputs import parse_ids, read_npy
from gru_viz.ui.charts import chart
from gru_viz.ui.explorer_input import Run, input_kind, make_run, read_input, symbol_names
from gru_viz.ui.explorer_model import Loaded
from gru_viz.ui.explorer_views import heatmap_cols, window_slider
from gru_viz.ui.state import Explorer

CONTEXT = 12  # steps of context shown either side of a corpus match
CORPUS_STEPS = 64  # a corpus holds at most this many times GRUVIZ_MAX_STEPS steps (characters)
SPLITS = {"file": "the whole text, the state carried across lines",
          "line": "one a line, each from h0 = 0"}  # the corpus job's --split, as offered here


# --- corpus ----------------------------------------------------------------------------------

def read_corpus(loaded: Loaded, data: bytes, name: str, split: str = "file"
                ) -> tuple[list[np.ndarray], list[np.ndarray] | None, list[list[str]], str]:
    """A corpus file -> (inputs (T_i, I), ids or None, symbols per sequence, notice).

    Text is read as the corpus job reads a text file (``gru_viz.io.corpus.text_documents``):
    with ``split`` "file" the whole text is one sequence, the state carried across lines and
    the newline a token (when the vocabulary has it); with "line" each line is a sequence.
    Unknown characters are skipped (counted in the notice). Ids: whitespace-separated, the
    same two ways. Vectors: a .npy of shape (B, T, I) or (T, I), or a .npz with one (T, I)
    array each. Sizes are checked before the model runs, and for vectors before anything is
    unpacked (a small compressed file can hold a huge array): at most ``CORPUS_STEPS`` ×
    GRUVIZ_MAX_STEPS steps in all.
    """
    ckpt, kind = loaded.ckpt, input_kind(loaded.ckpt)
    lim = server_limits()
    most = lim.max_steps * CORPUS_STEPS
    too_long = (f"{name} holds more than {most:,} steps in all, this server's limit for a "
                f"corpus ({CORPUS_STEPS} × GRUVIZ_MAX_STEPS); use a shorter corpus.")
    if kind == "vectors":
        xs = _vector_corpus(data, name, ckpt.model.input_size, lim.max_upload_mb, most, too_long)
        return xs, None, [step_labels(x) for x in xs], ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text (byte {exc.start}).") from None
    skipped = 0
    if kind == "ids":
        ids = _id_documents(text, len(symbol_names(ckpt)), split, most, too_long)
    else:
        too_many = (f"{name} holds more than {most:,} characters, this server's limit for a "
                    f"corpus ({CORPUS_STEPS} × GRUVIZ_MAX_STEPS); use a shorter corpus.")
        # before encoding, which peaks at 12 bytes a character (a 200 MB upload: 2.4 GB)
        if len(text) - text.count("\n") > most:
            raise InputError(too_many)
        ids, skipped = text_documents(text, ckpt.vocabulary, split)
        if sum(map(len, ids)) > most:  # the newlines read as tokens
            raise InputError(too_many)
    xs, symbols = [], []
    for i in ids:
        x, sym = checkpoint_input(ckpt, ids=i)
        xs.append(x)
        symbols.append(list(sym))
    notice = f"{skipped} character(s) not in the vocabulary were skipped." if skipped else ""
    return xs, ids, symbols, notice


def _id_documents(text: str, symbols: int, split: str, most: int, too_long: str
                  ) -> list[np.ndarray]:
    """Whitespace-separated ids: one sequence a line (``split`` "line"), else one in all."""
    # counted before any is parsed: parsing peaks at ~100 bytes a 4-digit id (a 200 MB
    # upload: 4 GB)
    if next(itertools.islice(re.finditer(r"[^\s,]+", text), most, None), None) is not None:
        raise InputError(too_long)
    seqs = [parse_ids(line, symbols) if line.strip() else np.zeros(0, np.int64)
            for line in text.splitlines()]
    if split != "line":
        seqs = [np.concatenate(seqs)] if seqs else []
    return [s for s in seqs if len(s)]


def _vector_corpus(data: bytes, name: str, width: int, max_mb: int, most: int,
                   too_long: str) -> list[np.ndarray]:
    """The (T_i, width) sequences of a .npy (B, T, I) or (T, I), or of a .npz (one a member),
    their sizes checked before they are unpacked."""
    try:
        if data.startswith(b"PK"):  # .npz: one sequence per array
            _check_npz(data, name, max_mb, most, width, too_long)
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                arrays = [z[k] for k in z.files]
        else:
            if int(np.prod(npy_header(io.BytesIO(data))[0], dtype=object)) > most * width:
                raise InputError(too_long)
            x = np.load(io.BytesIO(data), allow_pickle=False)
            arrays = list(x) if x.ndim == 3 else [x]
    except InputError:  # a ValueError too: already says what is wrong
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{name} is not a readable .npy or .npz of numbers: {exc}") from None
    return [read_npy(_npy(a), width) for a in arrays]


def _check_npz(data: bytes, name: str, max_mb: int, most: int, width: int,
               too_long: str) -> None:
    """Refuse a .npz that unpacks to more than GRUVIZ_MAX_UPLOAD_MB (a zip bomb) or whose
    arrays' headers declare more than ``most`` steps of ``width`` numbers, before loading."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:  # BadZipFile: reported by the caller
        check_unpacked(z.infolist(), name, max_mb, InputError, "Use a smaller corpus.")
        steps = 0
        for info in z.infolist():
            with z.open(info) as f:
                shape = npy_header(f)[0]  # ValueError when not a .npy: said by the caller
            steps += shape[0] if shape else 1
            if steps > most or int(np.prod(shape, dtype=object)) > most * width:
                raise InputError(too_long)


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def corpus_view(loaded: Loaded, nt: Notation, cell_id: tuple[int, int], order: np.ndarray
                ) -> None:
    if st.radio("Corpus", ["Run a small corpus here", "Statistics file"], horizontal=True,
                key="ex.corpus_source", label_visibility="collapsed") == "Statistics file":
        from gru_viz.ui.explorer_corpus import stats_view

        stats_view(loaded, nt, cell_id, order)
        return
    kind = input_kind(loaded.ckpt)
    up = st.file_uploader("Corpus: " + ("a text file" if kind != "vectors"
                                        else ".npy (B, T, I) or .npz of (T, I) arrays"),
                          key="ex.corpus_file", max_upload_size=server_limits().max_upload_mb)
    pasted = "" if kind == "vectors" else st.text_area(
        "…or paste it", key="ex.corpus_text", height=100)
    split = "file" if kind == "vectors" else st.radio(
        "Sequences", list(SPLITS), format_func=SPLITS.get, key="ex.corpus_split",
        horizontal=True)
    data, name = (up.getvalue(), up.name) if up is not None else (pasted.encode(), "pasted")
    if not data.strip():
        st.info("Give a corpus to compute saturation, expected response and unit-search "
                "matches over many sequences.")
        return
    c1, c2 = st.columns(2)
    left = c1.slider("Left-saturated below", 0.0, 0.5, 0.1, 0.01, key="ex.c_left")
    right = c2.slider("Right-saturated above", 0.5, 1.0, 0.9, 0.01, key="ex.c_right")
    key = "|".join((loaded.key, hashlib.sha256(data).hexdigest(), f"{left}:{right}", nt.key,
                    split))
    if st.button("Run the corpus", key="ex.corpus_go", type="primary"):
        try:
            xs, ids, symbols, notice = read_corpus(loaded, data, name, split)
        except GRUVizError as exc:
            st.error(markdown_text(exc))
            return
        if notice:
            st.warning(markdown_text(notice))
        bar = st.progress(0.0, "Running the corpus…")
        V = len(symbol_names(loaded.ckpt)) if ids is not None else None
        try:
            stats = an.corpus_stats(loaded.ckpt.model, xs, ids, V, nt, left, right,
                                    progress=lambda d, n: bar.progress(d / n, f"{d}/{n} sequences"),
                                    limits=server_limits())
        except GRUVizError as exc:
            st.error(markdown_text(exc))
            return
        Explorer.corpus.set((key, stats, xs, symbols))
    result = Explorer.corpus.get()
    if result is None or result[0] != key:
        st.info("Press “Run the corpus” to compute its statistics.")
        return
    _, stats, xs, symbols = result
    st.caption(f"{len(xs):d} sequences, {sum(len(x) for x in xs):d} steps.")
    sat = {cid: s.saturation for cid, s in stats.items()}
    chart(ef.saturation_scatter(sat, nt), key="ex.c_sat")
    resp = stats[cell_id].response
    if resp is not None:
        st.subheader("Expected response (RNNVis)")
        st.caption("Each unit's mean change of state h_t − h_{t−1} over every occurrence of "
                   "each symbol in the corpus.")
        chart(ef.response_heatmap(resp.mean, resp.counts,
                                            symbol_names(loaded.ckpt), order), key="ex.c_resp")
    _corpus_matches(loaded, nt, key, xs, symbols)


def _corpus_matches(loaded: Loaded, nt: Notation, key: str, xs: list[np.ndarray],
                    symbols: list[list[str]]) -> None:
    st.subheader("The unit search's matches in the corpus")
    search = Explorer.search.get()
    if search is None or search["model"] != loaded.key or not len(search["units"]):
        st.info("Find units with the unit search first; their matches are listed here.")
        return
    (k, d), units = search["cell"], search["units"]
    snt = NOTATIONS[search["notation"]]  # its threshold is in the notation it was made in
    st.caption(md("Units {} of layer {:d}", ", ".join(map(str, units[:20])), k)
               + (" reverse" if d else "") + md(", {}", search["field"])
               + (md(", searched in {} notation.", snt.name) if snt.key != nt.key else "."))
    mkey = key + repr((snt.key, k, d, search["field"], search["sign"], units.tolist(),
                       np.asarray(search["threshold"])
                       .round(6).tolist(), search["min_length"]))
    if st.button("Find the matches", key="ex.c_match"):
        bar = st.progress(0.0)
        found = an.corpus_matches(loaded.ckpt.model, xs, k, d, search["field"], units,
                                  search["threshold"], snt, search["min_length"],
                                  lambda done, n: bar.progress(done / n), search["sign"],
                                  limits=server_limits())
        Explorer.matches.set((mkey, found))
    stored = Explorer.matches.get()
    if stored is None or stored[0] != mkey:
        return
    found = stored[1]
    sep = "" if loaded.ckpt.vocabulary is not None else " "
    rows = [{"sequence": m.seq, "start": m.start, "steps": m.stop - m.start,
             "before": sep.join(symbols[m.seq][max(0, m.start - CONTEXT):m.start]),
             "match": sep.join(symbols[m.seq][m.start:m.stop]),
             "after": sep.join(symbols[m.seq][m.stop:m.stop + CONTEXT])} for m in found[:500]]
    st.markdown(f"**{len(found):d} match(es)**, longest first" + (" (first 500)"
                                                               if len(found) > 500 else ""))
    st.dataframe(rows, height=300)


# --- comparing two inputs --------------------------------------------------------------------

def compare_view(loaded: Loaded, a: Run, nt: Notation, cell_id: tuple[int, int],
                 order: np.ndarray) -> None:
    st.caption("Edit a token (or any part) of input B; the differences are shown where the two "
               "inputs align (equal tokens, and same-length replacements).")
    got = read_input(loaded, "compare", "Input B", _edited(loaded, a))
    if got is None:
        return
    try:
        b = make_run(loaded, *got)
        with budget.heavy():
            al = an.align(a.text, b.text)
    except GRUVizError as exc:
        st.error(markdown_text(exc))
        return
    if not len(al.a):
        st.warning("The two inputs share no aligned step.")
        return
    k, d = cell_id
    ca, cb = a.trace.layers[k][d], b.trace.layers[k][d]
    diffs = {f: an.aligned_difference(an.shown(nt, f, getattr(ca, f)),
                                      an.shown(nt, f, getattr(cb, f)), al) for f in "zrnh"}
    labels = [f"{a.tokens[i]}→{b.tokens[j]}" if e else a.tokens[i]
              for i, j, e in zip(al.a, al.b, al.edited)]
    start, stop = window_slider(len(labels), "ex.compare_window", heatmap_cols(len(order)))
    diffs = {f: v[start:stop] for f, v in diffs.items()}
    changed = float(np.abs(diffs["h"]).max())
    st.markdown(f"{len(al.a):d} aligned steps, {int(al.edited.sum()):d} edited; "
                f"largest change of state {changed:.3f}.")
    chart(ef.difference_heatmaps(diffs, nt, labels[start:stop], order),
                    key="ex.diff")


def _edited(loaded: Loaded, a: Run) -> str:
    """Input A with its middle step changed: a default for input B."""
    kind, t = input_kind(loaded.ckpt), len(a.x) // 2
    if kind == "vectors":
        x = a.x.copy()
        x[t] = -x[t] if np.any(x[t]) else 1.0
        return "\n".join(", ".join(f"{v:g}" for v in row) for row in x)
    if kind == "ids":
        ids = a.ids.copy()
        ids[t] = (ids[t] + 1) % len(symbol_names(loaded.ckpt))
        return " ".join(map(str, ids))
    symbols = loaded.ckpt.vocabulary.symbols
    text = list(a.symbols)
    text[t] = symbols[(symbols.index(text[t]) + 1) % len(symbols)]
    return "".join(text)


# --- export ----------------------------------------------------------------------------------

def description(loaded: Loaded) -> dict:
    return loaded.ckpt.description | {"model": loaded.ckpt.model.describe(),
                                      "file": loaded.name, "summary": loaded.ckpt.summary()}


def trace_file(loaded: Loaded, r: Run, fmt: str) -> bytes | str:
    """The whole trace with the model's description: "npz", "csv" or "json"."""
    extras = {k: v for k, v in (("probs", r.probs), ("head", r.head)) if v is not None}
    if fmt == "npz":
        return export.to_npz(r.trace, description(loaded), r.symbols, extras)
    if fmt == "json":
        return export.to_json(r.trace, description(loaded), r.symbols, extras)
    return export.to_csv(r.trace, description(loaded), r.symbols)


def export_view(loaded: Loaded, r: Run, figures: dict[str, dict], view_key: str) -> None:
    """Downloads of the trace and of ``figures``; ``view_key`` names everything besides the run
    that shaped the figures (cell, order, notation), so that a drawn image is never stale."""
    st.subheader("The whole trace")
    st.caption("Every layer, direction and gate at every step, with the input and the model's "
               "description. Files are made when you click.")
    c = st.columns(3)
    stem = loaded.name.rsplit(".", 1)[0]
    for col, fmt, mime in zip(c, ("npz", "csv", "json"),
                              ("application/octet-stream", "text/csv", "application/json")):
        col.download_button(md("Trace as {}", fmt.upper()),
                            lambda fmt=fmt: trace_file(loaded, r, fmt),
                            f"{stem}-trace.{fmt}", mime, key=f"ex.dl_{fmt}")
    st.subheader("A figure")
    name = st.selectbox("Figure", list(figures), key="ex.fig_choice")
    spec = figures[name]
    slug = name.split(" (")[0].replace(" ", "-")
    c = st.columns(3)
    c[0].download_button("Standalone HTML", lambda: figure_html(spec), f"{slug}.html",
                         "text/html", key="ex.dl_html")
    if c[1].button("Draw PNG and SVG on the server", key="ex.draw"):
        with st.spinner("Drawing with kaleido…"):
            try:
                Explorer.images.set((json.dumps([r.key, view_key, name]), {
                    fmt: figure_image(spec, fmt) for fmt in ("png", "svg")}))
            except Exception as exc:  # kaleido needs Chromium; say what failed, keep the page
                st.error(md("Server-side drawing failed ({}: {}). Use the chart toolbar's "
                            "camera button instead.", type(exc).__name__, exc))
    images = Explorer.images.get()
    if images and images[0] == json.dumps([r.key, view_key, name]):
        c[2].download_button("PNG", images[1]["png"], f"{slug}.png", "image/png",
                             key="ex.dl_png")
        c[2].download_button("SVG", images[1]["svg"], f"{slug}.svg", "image/svg+xml",
                             key="ex.dl_svg")
