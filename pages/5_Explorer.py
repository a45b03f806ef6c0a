"""Checkpoint explorer: every gate of a trained GRU on inputs you type, with the research views
of LSTMVis, RNNVis and Karpathy et al. (2015)."""

import streamlit as st

from gru_viz.analysis import units as an
from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import markdown_text, md
from gru_viz.figures import explorer as ef
from gru_viz.ui import chosen_notation, frame
from gru_viz.ui.explorer_input import make_run, read_input, symbol_names
from gru_viz.ui.explorer_model import detected, model_picker, overrides
from gru_viz.ui.explorer_more import compare_view, corpus_view, export_view
from gru_viz.ui.explorer_views import (
    field_picker,
    gates_view,
    heatmap_cols,
    predictions_view,
    saturation_view,
    search_view,
    unit_order,
    units_view,
)
from gru_viz.ui.state import Explorer

frame("Explorer", "🔬")
st.title("🔬 Checkpoint explorer")
with st.sidebar:
    st.divider()
    loaded = model_picker()
if loaded is None:
    st.info("Choose a shipped example or upload a checkpoint (sidebar) to explore its gates.")
    st.stop()
with st.expander("What was detected in the file", expanded=True):
    detected(loaded)
    loaded = overrides(loaded)
ckpt, nt = loaded.ckpt, chosen_notation()
m = ckpt.model
st.caption(md("{}: {}", loaded.name, m.describe())
           + (f", vocabulary of {len(ckpt.vocabulary):d}" if ckpt.vocabulary else "")
           + (", linear head" if ckpt.head_weight is not None else ""))

got = read_input(loaded)
if got is None:
    st.stop()
try:
    run = make_run(loaded, *got)
except GRUVizError as exc:
    st.error(markdown_text(exc))
    st.stop()

c = st.columns(4)
layer = c[0].selectbox("Layer", range(m.num_layers), key=f"ex.layer.{m.num_layers}")
# keyed by the labels too: the widget remembers its choice by label, and a reverse-only layer's
# single direction is labelled "reverse"
direction = c[1].selectbox("Direction", range(m.num_directions),
                           key=f"ex.dir.{m.num_directions}.{int(m.reads_backwards(layer, 0))}",
                           format_func=lambda d: "reverse" if m.reads_backwards(layer, d)
                           else "forward")
with c[2]:
    field = field_picker(nt, "ex.order_field", label="Order units by their")
how = c[3].selectbox("Unit order", list(an.ORDERINGS), format_func=an.ORDERINGS.get,
                     key="ex.order")
cell = run.trace.layers[layer][direction]
order = unit_order(run.key, layer, direction, field, how, nt.key,
                   an.shown(nt, field, getattr(cell, field)))
cell_id = (layer, direction)

views = ["Gates", "Units", "Saturation", "Unit search"] + (
    ["Predictions"] if run.head is not None else []) + ["Corpus", "Compare", "Export"]
if not Explorer.view.is_set() or Explorer.view.get() not in views:  # e.g. Predictions, then
    Explorer.view.set(views[0])                                      # a model without head
view = st.radio("View", views, horizontal=True, key=Explorer.view.bind(views[0]),
                on_change=Explorer.view.store, label_visibility="collapsed")
if view == "Gates":
    gates_view(run, cell, nt, order)
elif view == "Units":
    units_view(run, cell, nt, order)
elif view == "Saturation":
    saturation_view(run, cell_id, nt, order)
elif view == "Unit search":
    search_view(run, cell, cell_id, nt)
elif view == "Predictions":
    predictions_view(run, symbol_names(ckpt))
elif view == "Corpus":
    corpus_view(loaded, nt, cell_id, order)
elif view == "Compare":
    compare_view(loaded, run, nt, cell_id, order)
else:
    sat = {(k, d): {g: an.saturation(an.shown(nt, g, getattr(c, g))) for g in an.GATES}
           for k, lay in enumerate(run.trace.layers) for d, c in enumerate(lay)}
    export_view(loaded, run, {
        f"gate heatmaps ({cell.name}, overview)": ef.ordered_heatmaps(
            cell, nt, order, run.tokens, max_cols=heatmap_cols(m.hidden_size)),
        "saturation scatter (this input)": ef.saturation_scatter(sat, nt)},
        f"{layer}:{direction}:{field}:{how}:{nt.key}")
