"""The explorer's view of a corpus statistics file (``python -m gru_viz corpus``): saturation,
histograms, expected response, where each unit is high or low, and the unit search's matches
over the whole corpus, all read from the file (nothing is recomputed)."""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from gru_viz.analysis import units as an
from gru_viz.analysis.corpus import SUFFIX, CorpusStats, model_digest, subject_of
from gru_viz.core import budget
from gru_viz.core.errors import GRUVizError
from gru_viz.core.limits import server_limits
from gru_viz.core.notation import NOTATIONS, Notation
from gru_viz.core.untrusted import authored, markdown_text, md
from gru_viz.figures import explorer as ef
from gru_viz.figures.textcolor import display_token
from gru_viz.io.shipped import ASSETS
from gru_viz.ui.charts import chart
from gru_viz.ui.explorer_input import symbol_names
from gru_viz.ui.explorer_model import Loaded
from gru_viz.ui.explorer_views import field_picker
from gru_viz.ui.state import Explorer

ROWS = 200  # most table rows shown


# A statistics file holds up to GRUVIZ_MAX_TRACE_MB of arrays: the files share one byte
# budget and go once idle (as the checkpoints, gru_viz.ui.loading).
STATS = budget.ByteCache(max_bytes=1024 * 2**20)


def _stats(digest: str, data: bytes, max_mb: float) -> CorpusStats | str:
    """Shared read-only across sessions, keyed by the file's content hash; an error message
    (a str) for a file that is not one."""
    def load() -> CorpusStats | str:
        try:
            return CorpusStats.load(data, max_mb=max_mb)
        except GRUVizError as exc:
            return str(exc)
    return STATS.get((digest, max_mb), load, budget.nbytes)


@st.cache_resource(max_entries=8, ttl=budget.IDLE_SECONDS, show_spinner=False)
def _digest(model_key: str, _ckpt) -> str:
    return model_digest(subject_of(_ckpt))


def _beside(loaded: Loaded) -> list:
    """Statistics files shipped beside a shipped model: assets/<stem>*.gruviz-corpus.npz."""
    stem = loaded.name.rsplit(".", 1)[0]
    return sorted(ASSETS.glob(f"{stem}*{SUFFIX}")) if ASSETS.is_dir() else []


def stats_view(loaded: Loaded, nt: Notation, cell_id: tuple[int, int], order: np.ndarray
               ) -> None:
    found = _beside(loaded)
    up = st.file_uploader(authored(f"Corpus statistics ({SUFFIX}, from `python -m gru_viz "
                                   "corpus`)"),
                          key="ex.cstats_file", max_upload_size=server_limits().max_upload_mb)
    if up is not None:
        data, name = up.getvalue(), up.name
    elif found:
        path = st.selectbox("Statistics beside this model", found, key="ex.cstats_beside",
                            format_func=lambda p: p.name)
        data, name = path.read_bytes(), path.name
    else:
        st.info(authored("Run the corpus job on your own machine, e.g. `python -m gru_viz "
                         f"corpus model.pt corpus/ --out stats{SUFFIX}`, and open its file "
                         "here: saturation, expected response and unit-search matches over "
                         "the whole corpus."))
        return
    digest = hashlib.sha256(data).hexdigest()
    stats = _stats(digest, data, float(server_limits().max_trace_mb))
    if isinstance(stats, str):
        st.error(markdown_text(f"{name}: {stats}"))
        return
    if stats.meta.get("model_sha256") != _digest(loaded.key, loaded.ckpt):
        st.error(markdown_text(f"{name} was made for another model "
                               f"({stats.meta.get('model', '?')}); its weights differ from "
                               f"{loaded.name}'s. Run the corpus job with this model."))
        return
    m = stats.meta
    o = m["options"]
    st.caption(markdown_text(
        f"{stats.tokens:,} tokens in {m['documents']:,} document(s) of "
        f"{', '.join(m['corpus'][:5])}{' …' if len(m['corpus']) > 5 else ''}; "
        f"mode {o['mode']}, split per {o['split']}; "
        f"{m.get('tokens_per_second', 0):,.0f} tokens/s."))
    loss = stats.loss()
    if loss is not None:
        st.markdown(f"Next-symbol loss **{loss['loss']:.4f}** nats "
                    f"({loss['bits_per_symbol']:.3f} bits), accuracy **{loss['accuracy']:.3f}** "
                    f"over {int(loss['positions']):,d} positions.")
    k, d = cell_id
    if (k, d) not in stats.cells:
        st.warning("This layer and direction are not in the statistics file.")
        return
    _saturation(stats, nt, order)
    resp = stats.response(k, d)
    if resp is not None:
        st.subheader("Expected response (RNNVis)")
        st.caption("Each unit's mean change of state h_t − h_{t−1} over every occurrence of "
                   "each symbol in the whole corpus.")
        names = symbol_names(loaded.ckpt)  # chart() HTML-escapes them
        if len(names) == resp.counts.shape[0]:
            chart(ef.response_heatmap(resp.mean, resp.counts, names, order),
                            key="ex.cs_resp")
    _unit_positions(stats, loaded, nt, k, d)
    _matches(stats, loaded, nt)


def _saturation(stats: CorpusStats, nt: Notation, order: np.ndarray) -> None:
    o = stats.meta["options"]
    sat = {}
    for cid in stats.cells:
        gates = {}
        for g in an.GATES:
            below, above = (stats.get(*cid, f"{g}.below"), stats.get(*cid, f"{g}.above"))
            if g == "z" and nt.key == "course":  # Γu = 1 − z: below left ⟺ z above 1 − left
                below, above = above, below
            gates[g] = an.SaturationCounts(below, above, stats.tokens)
        sat[cid] = gates
    note = (" In course notation Γu's counts are z's mirrored, exact for thresholds that sum "
            "to 1." if nt.key == "course" and abs(o["left"] + o["right"] - 1) > 1e-12 else "")
    st.caption(f"Saturation over the whole corpus: left below {o['left']:g}, right above "
               f"{o['right']:g} (set when the job ran).{authored(note)}")
    chart(ef.saturation_scatter(sat, nt), key="ex.cs_sat")


def _context(stats: CorpusStats, loaded: Loaded, ctx: np.ndarray | None) -> tuple[str, str, str]:
    if ctx is None:
        return "", "", ""
    names = stats.meta.get("symbols") or []
    sep = "" if loaded.ckpt.vocabulary is not None else " "
    C = len(ctx) // 2

    def text(ids):
        return sep.join(display_token(str(names[i])) if 0 <= i < len(names) else "?"
                        for i in ids if i >= 0)

    return text(ctx[:C]), text(ctx[C:C + 1]), text(ctx[C + 1:])


def _unit_positions(stats: CorpusStats, loaded: Loaded, nt: Notation, k: int, d: int) -> None:
    st.subheader("Where a unit is highest or lowest in the corpus")
    if not stats.meta["options"]["top_k"]:
        st.info("This file holds no index of positions (made with --top-k 0).")
        return
    H = stats.meta["hidden_size"]
    c1, c2, c3 = st.columns(3)
    unit = c1.selectbox("Unit", list(range(H)), key=f"ex.cs_unit.{H}",
                        format_func=lambda u: f"unit {u}")
    with c2:
        field = field_picker(nt, "ex.cs_field")
    high = c3.radio("Values", ["highest", "lowest"], horizontal=True, key="ex.cs_sign")
    course_z = field == "z" and nt.key == "course"  # Γu = 1 − z: its highest are z's lowest
    which = "top" if (high == "highest") != course_z else "bottom"
    t = stats.top(k, d, field, unit, which)
    rows = []
    for j in range(len(t.doc)):
        before, tok, after = _context(stats, loaded, None if t.context is None else t.context[j])
        v = float(t.value[j])
        rows.append({"document": stats.doc_name(t.doc[j]), "offset": int(t.offset[j]),
                     nt.symbol(field): 1 - v if course_z else v,
                     "before": before, "token": tok, "after": after})
    hist = stats.get(k, d, f"{field}.hist")[unit]
    lo, hi = an.RANGES[field]
    mean, std = stats.mean(k, d, field)[unit], stats.std(k, d, field)[unit]
    if course_z:
        hist, mean = hist[::-1], 1 - mean
    st.caption(md("{} of unit {:d}: mean {:+.3f}, spread {:.3f} over ", nt.label(field), unit,
                  mean, std)
               + f"the corpus; histogram over [{lo:g}, {hi:g}] in {len(hist):d} bins: "
               + " ".join(f"{int(c):d}" for c in hist))
    st.dataframe(rows, height=260)


def _matches(stats: CorpusStats, loaded: Loaded, nt: Notation) -> None:
    st.subheader("The unit search's matches in the whole corpus")
    search = Explorer.search.get()
    if search is None or search["model"] != loaded.key or not len(search["units"]):
        st.info("Find units with the unit search first; their matches in the corpus are "
                "listed here, from the positions where each of them is highest (or lowest).")
        return
    if not stats.meta["options"]["top_k"]:
        st.info("This file holds no index of positions (made with --top-k 0).")
        return
    (k, d), units, field = search["cell"], np.asarray(search["units"]), search["field"]
    snt = NOTATIONS[search["notation"]]  # the threshold is in the notation it was made in
    sign, thr = float(search["sign"]), np.asarray(search["threshold"], float)
    if field == "z" and snt.key == "course":  # sign·(1 − z) ≥ thr ⟺ (−sign)·z ≥ thr − sign
        sign, thr = -sign, thr - sign
    H = stats.meta["hidden_size"]
    thr = np.broadcast_to(thr, (H,)) if thr.ndim == 0 else thr
    if (k, d) not in stats.cells or thr.shape != (H,) or units.max() >= H:
        st.warning("The search was made on a layer or size this file does not hold.")
        return
    found = stats.matches(k, d, field, units[:64], thr, sign)
    st.caption(md("Units {} of layer {:d}", ", ".join(map(str, units[:20])), k)
               + (" reverse" if d else "") + md(", {}: positions among the ", snt.label(field))
               + md("{} strongest of each unit where all of them are on together.",
                    stats.meta["options"]["top_k"]))
    rows = []
    for doc, off, _vals, ctx in found[:ROWS]:
        before, tok, after = _context(stats, loaded, ctx)
        rows.append({"document": stats.doc_name(doc), "offset": off, "before": before,
                     "token": tok, "after": after})
    st.markdown(f"**{len(found):d} match(es)**" + (f" (first {ROWS:d})" if len(found) > ROWS
                                                  else ""))
    if rows:
        st.dataframe(rows, height=260)
