"""``figures.wire.plain`` is Plotly's own ``go.Figure(spec).to_dict()``, made without a Figure: the
app sends it for every chart, so it must agree with Plotly on every kind of value a spec holds."""

from __future__ import annotations

import base64
import copy
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.figures.dynamics import retention_heatmap
from gru_viz.figures.safe import escaped
from gru_viz.figures.traces import heatmap_spec, lines_spec, squash_spec
from gru_viz.figures.wire import figure_json, plain


def _sent(d: dict) -> dict:
    """What reaches the browser: the JSON Streamlit writes, read back."""
    return json.loads(pio.to_json(d, validate=False))


def _plotly(spec: dict) -> dict:
    return go.Figure(_native(copy.deepcopy(spec)), _validate=False).to_dict()  # it pops types


def _native(v):
    """Arrays in native byte order: Plotly leaves others to its JSON engine, and orjson (used
    when installed) writes a big-endian float32 1.0 as 4.6e-41."""
    if isinstance(v, np.ndarray) and not v.dtype.isnative:
        return v.astype(v.dtype.newbyteorder("="))
    if isinstance(v, dict):
        return {k: _native(a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_native(a) for a in v)
    return v


def _specs(rng) -> list[dict]:
    model = GRUModel.random(2, 3, seed=4)
    x = rng.normal(size=(9, 2))
    cell = run(model, x).layers[0][0]
    tokens = [f"<b>{i}</b>" for i in range(9)]
    odd = {"data": [{"type": "scatter", "x": np.arange(5, dtype=np.int64) - 200,
                     "y": np.arange(5, dtype=">f4"), "text": np.array(list("abcde")),
                     "customdata": [np.ones(2), [1, 2]], "marker": {"color": pd.Series([1., 2.])},
                     "ids": ("a", "b"), "meta": None},
                    {"type": "heatmap", "z": np.zeros((2, 0)), "zmin": np.float32(0.5),
                     "x": np.arange(3, dtype=np.uint64) * 2**40},
                    {"type": "scatter", "x": np.arange(3, dtype=np.uint64) + 300,
                     "y": np.array([-2**40, 0, 1]), "z": np.array([True, False])}],
           "layout": {"xaxis": {"range": np.array([0.0, 1.0])}, "height": 300,
                      "annotations": ({"text": "t", "x": np.float64(1)},)}}
    return [heatmap_spec(cell, COURSE, tokens, max_ticks=4, input_track=True),
            heatmap_spec(cell, PYTORCH, None), lines_spec(cell, COURSE, [0, 2], tokens),
            squash_spec(), odd, retention_heatmap(rng.random((9, 3)), tokens, COURSE).to_dict(),
            {"data": [], "layout": {"template": "plotly_dark"}}]


@pytest.mark.parametrize("template", ["plotly", "streamlit", None])
def test_plain_is_what_plotly_sends(rng, template):
    import streamlit.elements.plotly_chart  # noqa: F401 - registers the "streamlit" template

    old = pio.templates.default
    pio.templates.default = template
    try:
        for spec in _specs(rng):
            before = repr(spec)
            assert _sent(plain(escaped(spec))) == _sent(_plotly(escaped(spec)))
            assert _sent(plain(spec)) == _sent(_plotly(spec))
            assert repr(spec) == before  # the caller's spec is not changed
    finally:
        pio.templates.default = old


def test_arrays_of_any_byte_order_arrive_as_their_numbers():
    y = np.arange(5, dtype=">f4")
    sent = _sent(plain({"data": [{"type": "scatter", "y": y}]}))["data"][0]["y"]
    got = np.frombuffer(base64.b64decode(sent["bdata"]), {"f4": "<f4"}[sent["dtype"]])
    np.testing.assert_array_equal(got, y)


def test_the_in_place_chart_sends_what_plotly_would_without_a_template(rng):
    """``figure_json`` (the Playground's charts) writes JSON itself: it must agree with what
    Plotly sends for every value a spec may hold (NumPy scalars, arrays inside lists)."""
    for spec in _specs(rng):
        want = _sent(plain(escaped(spec)))
        if "template" not in spec.get("layout", {}):  # the page's theme, set in the browser
            want["layout"].pop("template", None)
        want.pop("frames", None)
        assert json.loads(figure_json(spec)) == want
