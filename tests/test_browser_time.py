"""Time in the browser (issue 16): stepping and play on Step through and the Playground move
the cursor and the numbers without a server round trip; the numbers at each step are the
core's; play stops at the end; a weight change keeps every chart mounted; at 1280×720 the
main view is in the first viewport and no title or button is clipped."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz.figures.traces import FIELDS
from gru_viz.teaching.stepmath import number
from tests.browser import AppPage, expected, params_of

pytestmark = pytest.mark.browser


STATE = """() => { const tl = window.__gruviz_timeline;
    return {t: tl.t, T: tl.data.T, playing: tl.playing}; }"""


def state(app: AppPage) -> dict:
    app.page.wait_for_function("() => window.__gruviz_timeline !== undefined", timeout=30_000)
    return app.page.evaluate(STATE)


def shown_values(app: AppPage) -> dict[tuple[str, int], tuple[float, str]]:
    """(field, unit) -> (value, text) of the component's values table."""
    cells = app.page.locator(".gv .vals td")
    return {(c.get_attribute("data-f"), int(c.get_attribute("data-u"))):
            (float(c.get_attribute("data-v")), c.inner_text()) for c in cells.all()}


def assert_values_are_the_trace(app: AppPage, t: int, units) -> None:
    want = expected(params_of(app.page.url))  # field -> (H, T), from the link's state
    got = shown_values(app)
    for f in FIELDS:
        for j in units:
            value, text = got[(f, j)]
            assert abs(value - want[f][j, t]) < 1e-6, (f, j, t)
            assert text == number(want[f][j, t])


def button(app: AppPage, name: str):
    return app.page.locator(".gv button", has_text=name)


def test_step_through_steps_without_the_server(opened):
    app = opened("Step_through")
    T = state(app)["T"]
    assert state(app)["t"] == 0
    assert_values_are_the_trace(app, 0, [0])
    quiet = len(app.sent)
    for how, want in (("next", 1), ("next", 2), ("key", 3), ("previous", 2), ("key-left", 1)):
        if how == "key":
            app.page.keyboard.press("ArrowRight")
        elif how == "key-left":
            app.page.keyboard.press("ArrowLeft")
        else:
            button(app, "next ▶" if how == "next" else "◀ previous").click()
        assert state(app)["t"] == want
        assert_values_are_the_trace(app, want, [0])
        assert f"unit 0, t = {want}" in app.page.locator(".gv .diagram svg").text_content()
        assert app.page.locator(".gv .heading").inner_text().startswith(f"Step t = {want},")
        assert params_of(app.page.url)["t"] == str(want)  # the link, without a rerun
    assert len(app.sent) == quiet, "stepping sent the server a message"
    # idle for 2 s: the server hears of the step once (the other teaching page shows it)
    app.page.wait_for_timeout(2600)
    app.wait_idle()
    assert len(app.sent) == quiet + 1
    assert state(app)["t"] == 1 and T > 2
    app.shot("Step_through-time-1")


def test_play_stops_at_the_end(opened):
    app = opened("Step_through")
    app.page.locator(".gv select").select_option("30")
    quiet = len(app.sent)
    button(app, "▶ play").click()
    app.page.wait_for_function("() => !window.__gruviz_timeline.playing", timeout=20_000)
    s = state(app)
    assert s["t"] == s["T"] - 1  # stopped at the last step, not wrapped to 0
    assert len(app.sent) == quiet  # playing itself sent nothing
    assert_values_are_the_trace(app, s["T"] - 1, [0])
    app.page.wait_for_timeout(1000)  # stopped: the server hears of the step, once
    app.wait_idle()
    assert len(app.sent) == quiet + 1 and state(app)["t"] == s["T"] - 1
    # with loop on, play goes round
    app.page.locator(".gv .loop input").check()
    button(app, "▶ play").click()
    app.page.wait_for_function("() => window.__gruviz_timeline.t < 2", timeout=20_000)
    button(app, "❚❚ pause").click()
    assert not state(app)["playing"]


# Every animation frame until stopped: are the chart elements there at the start still the
# page's charts, the same nodes, each drawn (heatmap images, line paths)?
WATCH_CHARTS = """() => {
    const first = Array.from(document.querySelectorAll('.js-plotly-plot'));
    const w = window.__gruviz_watch = {frames: 0, bad: 0, stop: false};
    const tick = () => {
        if (w.stop) return;
        w.frames++;
        const now = Array.from(document.querySelectorAll('.js-plotly-plot'));
        if (now.length !== first.length || first.some((gd, i) => now[i] !== gd
                || !gd.querySelector('.hm image, .heatmaplayer image, .scatterlayer path.js-line')))
            w.bad++;
        requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    return first.length; }"""


def assert_charts_are_the_trace(app: AppPage, units) -> None:
    """The heatmaps' and the unit lines' numbers, as Plotly holds them, are the core's run of
    the state in the link."""
    want = expected(params_of(app.page.url))  # field -> (H, T)
    heatmaps, lines = app.figures()
    for k, f in enumerate(FIELDS):
        np.testing.assert_allclose(heatmaps["data"][k]["z"], want[f], atol=1e-6)
        for i, j in enumerate(units):
            np.testing.assert_allclose(lines["data"][k * len(units) + i]["y"], want[f][j],
                                       atol=1e-6)


def test_playground_cursor_follows_and_a_weight_change_keeps_the_charts(opened):
    app = opened("Playground")
    units = [0, 1]
    button(app, "next ▶").click()
    button(app, "next ▶").click()
    assert state(app)["t"] == 2
    assert_values_are_the_trace(app, 2, units)
    layers = app.page.locator(".gruviz-cursor")
    assert layers.count() == 2  # heatmaps and lines
    assert [layers.nth(k).get_attribute("data-t") for k in range(2)] == ["2", "2"]
    # a cursor box per panel, lying at t = 2 on the heatmaps' time axis
    x = app.page.evaluate("""() => {
        const gd = document.querySelector('.st-key-pg-heatmaps .js-plotly-plot');
        const xa = gd._fullLayout.xaxis, box = gd.querySelector('.gruviz-cursor').children[0];
        return [xa._offset + xa.l2p(1.5), parseFloat(box.style.left)]; }""")
    assert abs(x[0] - x[1]) < 1.5
    bar = app.page.evaluate("() => { window.__gruviz_timeline.__mark = 1; return 1; }")
    link = params_of(app.page.url).get("w")
    assert app.page.evaluate(WATCH_CHARTS) == 2
    for _ in range(3):
        with app.changing():
            app.slide("W_ux[0, 0]")
    frames, bad = app.page.evaluate(
        "() => { const w = window.__gruviz_watch; w.stop = true; return [w.frames, w.bad]; }")
    # the same two chart elements drawn on every frame (new numbers, in place: no remount,
    # no blank, no duplicate); the time bar is the same element; the cursor stays
    assert frames > 3 and bad == 0
    assert app.page.evaluate("() => window.__gruviz_timeline.__mark") == bar
    assert params_of(app.page.url).get("w") != link  # the link follows (a fragment's run)
    assert_charts_are_the_trace(app, units)
    assert state(app)["t"] == 2
    assert_values_are_the_trace(app, 2, units)
    assert [layers.nth(k).get_attribute("data-t") for k in range(2)] == ["2", "2"]


def inside_viewport(app: AppPage, selector: str) -> None:
    box = app.page.locator(selector).first.bounding_box()
    assert box is not None, selector
    vw, vh = app.page.viewport_size["width"], app.page.viewport_size["height"]
    assert box["x"] >= 0 and box["y"] >= 0, selector
    assert box["x"] + box["width"] <= vw + 1 and box["y"] + box["height"] <= vh + 1, (selector, box)


NOT_CLIPPED = """() => {
    const bad = [];
    for (const b of document.querySelectorAll('button, .gv button')) {
        if (b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1) bad.push(b.innerText);
    }
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
        const fig = gd.querySelector('.main-svg').getBoundingClientRect();
        for (const a of gd.querySelectorAll('.annotation-text, .gtitle, .xtick text, .ytick text')) {
            const r = a.getBoundingClientRect();
            if (r.width && (r.left < fig.left - 1 || r.right > fig.right + 1)) bad.push(a.textContent);
        }
    }
    return bad; }"""

TITLES_APART = """() => {
    const boxes = Array.from(document.querySelectorAll('.js-plotly-plot .annotation-text'))
        .map(a => a.getBoundingClientRect()).filter(r => r.width);
    let n = 0;
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i], b = boxes[j];
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) n++;
    }
    return n; }"""

SMALLEST_TEXT = """(sel) => Math.min(...Array.from(document.querySelectorAll(sel)).filter(
    t => t.textContent.trim()).map(t => parseFloat(getComputedStyle(t).fontSize)
                                        * t.ownerSVGElement.getScreenCTM().a))"""


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_main_view_in_the_first_viewport(server, browser, size):
    for page, parts in (("Playground", [".st-key-pg-heatmaps .js-plotly-plot",
                                        ".st-key-lab-text-w", "[data-testid='stSlider']",
                                        ".gv .bar"]),
                        ("Step_through", [".gv .bar", ".gv .eqs", ".gv .diagram svg",
                                          ".gv .tchart"])):
        app = AppPage(browser, f"{server}/{page}")
        try:
            app.page.set_viewport_size({"width": size[0], "height": size[1]})
            app.wait_idle()
            for sel in parts:
                inside_viewport(app, sel)
            assert app.page.evaluate(NOT_CLIPPED) == []
            assert app.page.evaluate(TITLES_APART) == 0
            if page == "Step_through":  # diagram and chart text ≥ 16 px on screen
                assert app.page.evaluate(SMALLEST_TEXT, ".gv .diagram svg text") >= 16
                assert app.page.evaluate(SMALLEST_TEXT, ".gv .tchart text") >= 16
            app.shot(f"{page}-first-viewport-{size[0]}")
            assert app.exceptions() == [] and app.errors == []
        finally:
            app.close()
