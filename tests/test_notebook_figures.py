"""Figures, coloured text and summaries of the objects a notebook holds (issue 14)."""

import base64
import re

import numpy as np
import pytest

import gru_viz
from gru_viz.core.errors import InputError
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.figures import notebook as nb
from gru_viz.figures.traces import heatmap_spec, lines_spec
from tests.browser import require_browser

BRACKETS = "assets/brackets.pt"


@pytest.fixture(scope="module")
def res():
    return gru_viz.trace_checkpoint(BRACKETS, text="([()])(([[]]))")


@pytest.fixture(autouse=True)
def no_images(monkeypatch):
    monkeypatch.setenv("GRUVIZ_NOTEBOOK_PNG", "0")  # one test below draws a real PNG


def _z(fig, k=0):
    return np.asarray(fig.data[k].z)


def test_heatmaps_are_the_apps_own_in_either_notation(res):
    cell = res.trace.cell()
    for name, nt in (("pytorch", PYTORCH), ("course", COURSE), (COURSE, COURSE)):
        fig = res.heatmaps(notation=name)
        spec = heatmap_spec(cell, nt, list(res.tokens), None, 1000)
        assert [t.name for t in fig.data] == [t["name"] for t in spec["data"]]
        for k in range(4):
            np.testing.assert_array_equal(_z(fig, k), spec["data"][k]["z"])
        assert fig.layout.coloraxis.cmin == 0 and fig.layout.coloraxis.cmax == 1
    np.testing.assert_allclose(_z(res.heatmaps(notation="course")),
                               1 - _z(res.heatmaps(notation="pytorch")), atol=1e-6)
    assert res.heatmaps(notation="course").data[0].name == "Γu"
    with pytest.raises(InputError, match="course"):
        res.heatmaps(notation="keras")


def test_trace_and_cell_methods_agree(res):
    cell = res.trace.cell(0, 0)
    a = res.trace.heatmaps(layer=0, direction=0, tokens=res.tokens)
    b = cell.heatmaps(tokens=res.tokens)
    np.testing.assert_array_equal(_z(a, 3), _z(b, 3))
    lines = cell.lines(units=[3, 7])
    spec = lines_spec(cell, PYTORCH, [3, 7])
    assert len(lines.data) == len(spec["data"]) == 8
    np.testing.assert_array_equal(lines.data[0].y, spec["data"][0]["y"])
    with pytest.raises(InputError, match="0..23"):
        cell.lines(units=[24])
    with pytest.raises(InputError, match="1 layer"):
        res.trace.cell(1, 0)


def test_every_layer_and_direction_and_batches():
    model = gru_viz.GRUModel.random(3, 5, num_layers=2, bidirectional=True, seed=1)
    x = np.random.default_rng(0).normal(size=(4, 9, 3))
    tr = gru_viz.run(model, x)
    figs = tr.heatmaps(layer="all", direction="all")
    assert isinstance(figs, nb.Figures) and len(figs) == 4
    assert "layer 1 reverse" in figs[3].layout.title.text
    assert "sequence 0 of 4" in figs[0].layout.title.text
    one = tr.heatmaps(layer=1, direction=1, sequence=2)
    np.testing.assert_allclose(_z(one, 3), tr.layers[1][1].h[2].T.astype(np.float32))
    assert len(tr.heatmaps(layer="all")) == 2  # direction 0 of each layer
    with pytest.raises(InputError, match="4 sequences"):
        tr.heatmaps(sequence=4)
    sat = tr.saturation()
    assert {t.xaxis for t in sat.data} == {"x", "x2"}  # one panel per layer
    assert tr.cell(1, 1).saturation().data


def test_coloured_text_is_a_string_and_html(res):
    t = res.text(unit=15)
    assert isinstance(t, str) and str(t) == "".join(res.tokens)
    html = t._repr_html_()
    assert html.count("<span") == len(res.tokens) and "unit 15" in html
    z = res.text(unit=15, field="z", notation="course")
    assert "Γu" in z._repr_html_()
    with pytest.raises(InputError, match="Field"):
        res.text(unit=1, field="q")
    rows = gru_viz.trace_checkpoint(BRACKETS, rows=np.eye(4))
    with pytest.raises(InputError, match="numeric rows"):
        rows.text(unit=0)


def test_hostile_tokens_are_escaped():
    model = gru_viz.GRUModel.random(2, 3, seed=0)
    tr = gru_viz.run(model, np.ones((2, 2)))
    evil = ['<img src=x onerror=alert(1)>', '<span style="background:url(http://h/)">']
    fig = tr.heatmaps(tokens=evil)
    ticks = list(fig.layout.xaxis.ticktext)
    assert all("<" not in s for s in ticks) and "&lt;img" in ticks[0]
    assert list(tr.heatmaps(tokens=["a&b", "<"]).layout.xaxis.ticktext) == ["a&amp;b", "&lt;"]
    html = tr.text(evil, unit=0)._repr_html_()
    assert "<img" not in html and "<span style=\"background:url" not in html


def test_summaries_are_short_and_never_dump_arrays(res):
    model = gru_viz.GRUModel.random(3, 64, num_layers=2, bidirectional=True)
    big = gru_viz.run(model, np.ones((500, 3)))
    for obj in (res, res.checkpoint, res.trace, res.trace.cell(), big, big.cell(1, 1)):
        text, html = repr(obj), obj._repr_html_()
        assert len(text.splitlines()) <= 16 and len(text) < 1500, text
        assert len(html) < 4000 and "array(" not in text
        assert len(re.findall(r"\d\.\d", text + html)) < 3, text  # no numbers dumped
    assert "reset after" in repr(res.trace) and "2 (forward, reverse)" in repr(big)
    assert "hidden size: 24" in repr(res.checkpoint) and "Vocabulary" not in repr(res)


def test_display_bundle_carries_plotly_json_and_a_png(monkeypatch, res):
    fig = res.heatmaps()
    bundle = fig._repr_mimebundle_()
    assert set(bundle) == {nb.PLOTLY_MIME, "text/plain"}  # images switched off
    assert bundle[nb.PLOTLY_MIME]["data"][0]["type"] == "heatmap"
    assert len(bundle["text/plain"]) < 200
    require_browser()  # kaleido draws with Debian's chromium
    monkeypatch.setenv("GRUVIZ_NOTEBOOK_PNG", "1")
    bundle = fig._repr_mimebundle_()
    png = base64.b64decode(bundle["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "text/html" not in bundle  # nbconvert would prefer it to the image
    assert set(fig._repr_mimebundle_(exclude={"image/png"})) == {nb.PLOTLY_MIME, "text/plain"}


def test_a_recording_summarises_and_draws_itself():
    import torch

    torch.manual_seed(0)
    text = "abcabcab"
    model = torch.nn.Sequential(torch.nn.Embedding(3, 4), torch.nn.GRU(4, 6, num_layers=2,
                                                                        batch_first=True))
    ids = torch.tensor([[ord(c) - 97 for c in text]] * 2)
    rec = gru_viz.record(model.eval(), ids, tokens=[list(text)] * 2)
    text_repr = repr(rec)
    assert "Recording of 1 GRU" in text_repr and "matches the module" in text_repr
    assert len(text_repr) < 1500 and len(re.findall(r"\d\.\d{3}", text_repr)) < 3
    assert "1 (the module itself)" not in repr(rec[0]) and "GRU" in rec[0]._repr_html_()
    fig = rec.heatmaps(layer=1, sequence=1)
    assert list(fig.layout.xaxis.ticktext)[:3] == ["a", "b", "c"]
    np.testing.assert_allclose(_z(fig, 3), rec[0].trace.layers[1][0].h[1].T.astype(np.float32))
    assert len(rec.heatmaps(layer="all")) == 2 and rec.lines([0, 5]).data and rec.saturation()
    assert str(rec.text(unit=2)) == text
