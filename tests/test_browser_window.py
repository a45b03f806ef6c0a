"""Issue 16, item 5: the Explorer's full-resolution window over a long input moves in the
browser (the whole run is in the page when it fits the chart budget) with no message to the
server, shows the core's numbers at the steps it moves to, and the server hears of it later."""

import numpy as np

from gru_viz import trace_checkpoint
from gru_viz.figures.textcolor import display_token
from tests.browser import ROOT, decode_array, params_of

# Python source with the characters Plotly's labels would render as markup
ALPHABET = "def f(x):\n    return x < 1 & y > '<b>' + \"q\"\n"
CHART = "document.querySelector('.st-key-ex-zoomed .js-plotly-plot')"
# Every message the page sends from now on, on the page's clock.
LOG_SENDS = """() => {
  window.__sends = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (d) { window.__sends.push(performance.now());
                                            return send.call(this, d); };
}"""
# Page coordinates of the cell (t, unit) in the update gate's panel, scrolled into view.
CELL = f"""([t, unit]) => {{
  const gd = {CHART}, fl = gd._fullLayout, xa = fl.xaxis, ya = fl.yaxis;
  gd.scrollIntoView();
  const r = gd.getBoundingClientRect();
  return [r.left + xa._offset + xa.d2p(t), r.top + ya._offset + ya.d2p(String(unit))];
}}"""


def window_of(app) -> dict:
    return app.page.evaluate(f"""() => {{ const gd = {CHART};
        return {{range: gd.layout.xaxis.range, mark: gd.__mark === 1}}; }}""")


def drawn_ticks(app) -> list[str]:
    """The x tick labels Plotly drew (in view), as shown."""
    return app.page.evaluate(f"""() => Array.from({CHART}.querySelectorAll(
        '.xaxislayer-above .xtick text')).map(t => t.textContent)""")


def moved_to(app, start: int) -> float:
    """Move the window with the bar's range input; the page's time of the move."""
    t = app.page.evaluate("() => performance.now()")
    app.page.locator(".gv-pan input[type='range']").fill(str(start))
    app.page.wait_for_function(f"() => {CHART}.layout.xaxis.range[0] === {start - 0.5}",
                               timeout=10_000)
    return t


def hovered(app, t: int, unit: int) -> str:
    app.page.mouse.move(0, 0)
    app.page.wait_for_function("() => !document.querySelector('.hovertext')", timeout=5_000)
    x, y = app.page.evaluate(CELL, [t, unit])
    app.page.mouse.move(x, y)
    app.page.wait_for_function("() => document.querySelector('.hovertext')", timeout=5_000)
    return app.page.evaluate("() => document.querySelector('.hovertext').textContent")


def test_the_explorer_window_moves_in_the_browser_without_a_rerun(opened):
    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list(ALPHABET), 2000))
    app = opened("Explorer")
    with app.changing():
        app.select("Model", "pysource.pt")
    with app.changing():
        app.type_text("Input", text)
    want = trace_checkpoint(ROOT / "assets" / "pysource.pt", text=text).trace.layers[0][0]
    pan = app.page.evaluate("() => window.__gruviz_pan.data")
    size = pan["size"]
    assert (pan["T"], pan["span"]) == (2000, [0, 2000])  # H = 128: the whole run fits 8 MB
    gd = next(f for f in app.figures() if len(f["data"][0]["x"]) == 2000)
    gamma_u = gd["data"][0]["z"].reshape(128, 2000)
    np.testing.assert_allclose(gamma_u, 1 - want.z.T, atol=1e-6)  # every step, index order

    app.page.evaluate(f"() => {{ {CHART}.__mark = 1; }}")
    app.page.evaluate(LOG_SENDS)
    moves = []
    for start in (900, 1337, 2000 - size):
        moves.append(moved_to(app, start))
        w = window_of(app)
        assert w["range"] == [start - 0.5, start + size - 0.5], (start, w["range"])
        ticked = list(range(-(-start // 10) * 10, start + size, 10))
        assert drawn_ticks(app) == [display_token(text[t]) for t in ticked]  # as typed
        for t, unit in ((ticked[1], 5), (start + size - 3, 77)):
            assert hovered(app, t, unit) == f"t = {t}unit {unit}Γu = {1 - want.z[t, unit]:.3f}"
    assert params_of(app.page.url)["win"] == str(2000 - size)
    sends = app.page.evaluate("() => window.__sends")
    assert all(s > moves[-1] + 1900 for s in sends), "a window move sent a message"

    # idle: the server hears of the window once, and sends no chart again
    app.page.wait_for_function("() => window.__sends.length > 0", timeout=20_000)
    app.wait_idle()
    assert window_of(app) == {"range": [2000 - size - 0.5, 2000 - 0.5], "mark": True}
    # and draws the next chart at that window (units now by mean activity), in place: the
    # same chart element takes the new figure
    app.page.mouse.move(0, 0)
    app.widget("stSelectbox", "Unit order").scroll_into_view_if_needed()
    with app.changing():
        app.select("Unit order", "mean activity (high first)")
    w = window_of(app)
    assert w["range"] == [2000 - size - 0.5, 2000 - 0.5] and w["mark"]
    data = app.page.evaluate(f"() => {{ const t = {CHART}.data[0]; "
                             "return {z: t.z, y: t.y}; }")
    order = [int(u) for u in data["y"]]
    assert order != sorted(order)  # the new order is drawn
    np.testing.assert_allclose(decode_array(data["z"]).reshape(128, 2000),
                               (1 - want.z.T)[order], atol=1e-6)

    # a new input of another length brings a new bar (its key holds T) while the chart
    # drawn in place stays: the old bar lets go of it (else both would set its range)
    listeners = f"() => {CHART}._ev.listeners('plotly_afterplot').length"
    before = app.page.evaluate(listeners)
    longer = "".join(rng.choice(list(ALPHABET), 2400))
    app.page.mouse.move(0, 0)
    with app.changing():
        app.type_text("Input", longer)
    app.wait_idle()
    assert app.page.evaluate("() => window.__gruviz_pan.data.T") == 2400
    assert app.page.evaluate(f"() => {CHART}.__mark") == 1  # the same chart element
    assert app.page.evaluate(listeners) == before
