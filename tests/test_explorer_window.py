"""Issue 16, item 5: the Explorer's full-resolution window chart holds as many steps around
the window as fit the 8 MB chart budget (the whole run when they fit), shows the core's
numbers, and starts where the link says."""

import io

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import NOTATIONS
from gru_viz.figures import explorer as ef
from gru_viz.figures.safe import escaped
from gru_viz.figures.traces import step_labels
from gru_viz.figures.wire import figure_json
from gru_viz.io.inputs import Vocabulary
from gru_viz.io.savefile import save_checkpoint
from gru_viz.ui.explorer_views import heatmap_cols
from gru_viz.ui.state import Explorer
from tests.app_helpers import chart_bytes, charts, open_page

SYMBOLS = tuple("ab<>&'\" \n") + tuple(chr(c) for c in range(48, 48 + 55))


def cell_of(H: int, T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.eye(len(SYMBOLS))[rng.integers(0, len(SYMBOLS), T)]
    model = GRUModel.random(len(SYMBOLS), H, seed=seed, dtype=np.float32)
    return run(model, x).layers[0][0], [SYMBOLS[i] for i in np.argmax(x, 1)]


def sent_bytes(spec: dict) -> int:
    """What the chart drawn in place sends for it (ui.charts.chart_in_place)."""
    return len(figure_json(spec).encode())


@pytest.mark.parametrize(("H", "T", "start"), [(16, 3000, 2500), (64, 4000, 1000),
                                               (256, 5000, 4000), (512, 3000, 0)])
def test_the_span_holds_the_window_and_fits_the_budget(H, T, start):
    cell, tokens = cell_of(H, T)
    size = heatmap_cols(H)
    window = (start, start + size)
    (a, b), hover = ef.browser_span(cell, NOTATIONS["pytorch"], window, tokens)
    assert 0 <= a <= start and start + size <= b <= T
    assert hover == (H * size <= 20_000)  # the input in the hover where the window had it
    spec = ef.window_heatmaps(cell, NOTATIONS["pytorch"], np.arange(H), tokens, (a, b), window,
                              hover)
    size_sent = sent_bytes(spec)
    assert size_sent <= ef.CHART_BYTES
    if (a, b) != (0, T):  # cut to the budget: most of it used
        assert size_sent >= 0.9 * ef.CHART_BYTES
    estimate = ef.heatmap_bytes(H, b - a, ef.label_bytes(tokens) if hover else 0)
    assert abs(estimate - size_sent) <= 0.15 * size_sent


def test_the_window_chart_shows_the_core_numbers_over_its_span():
    H, T = 8, 900
    cell, tokens = cell_of(H, T, seed=3)
    order = np.random.default_rng(0).permutation(H)
    nt = NOTATIONS["course"]
    spec = escaped(ef.window_heatmaps(cell, nt, order, tokens, (100, 800), (300, 700), True))
    for trace, field in zip(spec["data"], ("z", "r", "n", "h")):
        np.testing.assert_array_equal(trace["x"], np.arange(100, 800))
        want = nt.values(field, getattr(cell, field))[100:800][:, order].T
        np.testing.assert_allclose(trace["z"], want, rtol=0, atol=1e-7)  # float32
        assert trace["y"] == [str(u) for u in order]
    axis = spec["layout"]["xaxis"]
    assert axis["range"] == [299.5, 699.5]
    assert axis["tickvals"] == list(range(100, 800, 10))  # the whole span: Plotly shows those in view
    shown = escaped({"data": [{"x": step_labels(cell.x, tokens)}]})["data"][0]["x"]
    assert axis["ticktext"] == [shown[t] for t in axis["tickvals"]]
    assert "<" not in "".join(axis["ticktext"])  # escaped by chart()'s path
    assert spec["data"][0]["meta"] == {"first": 100, "stop": 800}


@pytest.mark.parametrize(("linked", "start"), [("700", 700), ("99999", 1200), ("-3", 0),
                                               ("7e2", 0)])
def test_the_window_starts_where_the_link_says(linked, start):
    text = "(([]))[]" * 200  # brackets.pt (H = 24): the window is 400 of 1600 steps
    at = open_page("pages/5_Explorer.py", win=linked)
    at.text_area[0].set_value(text).run()
    assert not at.exception
    zoomed = [c for c in charts(at) if c["layout"]["xaxis"].get("range")]
    assert len(zoomed) == 1 and len(zoomed[0]["data"][0]["x"]) == 1600  # the whole run
    assert zoomed[0]["layout"]["xaxis"]["range"] == [start - 0.5, start + 399.5]


def test_beyond_the_budget_the_span_follows_the_window():
    H, T, V = 256, 3000, 64
    vocab = Vocabulary(tuple(chr(c) for c in range(48, 48 + V)))
    buf = io.BytesIO()
    save_checkpoint(buf, GRUModel.random(V, H, seed=1, dtype=np.float32), vocabulary=vocab)
    at = open_page("pages/5_Explorer.py", win="2600")
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value(("big.pt", buf.getvalue(),
                                                  "application/octet-stream")).run()
    rng = np.random.default_rng(2)
    at.text_area[0].set_value("".join(vocab.symbols[i] for i in rng.integers(0, V, T))).run()
    assert not at.exception
    zoomed = next(c for c in charts(at) if c["layout"]["xaxis"].get("range"))
    x = zoomed["data"][0]["x"]
    assert x[0] <= 2600 and x[-1] == T - 1 and len(x) < T  # cut, and holds the window
    assert zoomed["layout"]["xaxis"]["range"] == [2599.5, 2599.5 + heatmap_cols(H)]
    assert max(chart_bytes(at)) <= ef.CHART_BYTES


def test_a_rerun_sends_the_window_chart_it_made_before(monkeypatch):
    """The window chart's figure (up to 8 MB) is made once per span: a rerun with the window
    inside it sends the same figure, drawn in place (so the browser does not redraw it), and
    a window beyond the span makes a new one."""
    made = []
    real = ef.window_heatmaps
    monkeypatch.setattr(ef, "window_heatmaps", lambda *a, **k: made.append(a[4]) or real(*a, **k))
    H, T, V = 256, 3000, 64
    vocab = Vocabulary(tuple(chr(c) for c in range(48, 48 + V)))
    buf = io.BytesIO()
    save_checkpoint(buf, GRUModel.random(V, H, seed=1, dtype=np.float32), vocabulary=vocab)
    at = open_page("pages/5_Explorer.py")
    at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
    at.sidebar.get("file_uploader")[0].set_value(("big.pt", buf.getvalue(),
                                                  "application/octet-stream")).run()
    rng = np.random.default_rng(2)
    at.text_area[0].set_value("".join(vocab.symbols[i] for i in rng.integers(0, V, T))).run()
    zoomed = [c for c in charts(at) if c["layout"]["xaxis"].get("range")]
    assert len(zoomed) == 1 and len(made) == 1
    span = made[0]
    assert not any(c.key == "ex.zoomed" for c in at.get("plotly_chart"))  # drawn in place
    at.run()
    assert not at.exception and len(made) == 1  # the same figure, not made again
    again = [c for c in charts(at) if c["layout"]["xaxis"].get("range")]
    np.testing.assert_array_equal(again[0]["data"][3]["z"], zoomed[0]["data"][3]["z"])
    at.session_state[Explorer.window_start.key] = T - heatmap_cols(H)  # beyond the span
    at.run()
    assert not at.exception and len(made) == 2 and made[1] != span
    moved = next(c for c in charts(at) if c["layout"]["xaxis"].get("range"))
    assert moved["data"][0]["x"][-1] == T - 1
