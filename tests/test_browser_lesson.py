"""Browser checks of issue 15: the matrix editor takes typed negative numbers and every edit;
the lesson page's main view fits a 1280×720 projector."""

from __future__ import annotations

import time
import urllib.parse

import numpy as np
import pytest

from gru_viz.teaching.urlstate import unpack_weights
from tests.browser import AppPage


def _weights(app: AppPage):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(app.page.url).query))
    return unpack_weights(q["w"]) if "w" in q else None


def _type_in_cell(app: AppPage, column: int, text: str) -> None:
    """Click the first row's cell in data column ``column`` (0 = the first after the row
    titles) of the first data editor, type ``text`` at a typist's pace, Enter, wait."""
    grid = app.page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    box = grid.bounding_box()
    # a canvas: the row titles take about 50 px, each number column about 65 px
    app.page.mouse.click(box["x"] + 85 + 65 * column, box["y"] + 52)
    time.sleep(0.5)
    app.page.keyboard.type(text, delay=400)
    app.page.keyboard.press("Enter")
    time.sleep(1.5)
    app.wait_idle()


@pytest.mark.browser
def test_matrix_numbers_typed_fast_as_text_all_count(server, browser):
    """The reset preset (3 inputs: a matrix editor), PyTorch notation. A grid cell opens its
    editor on the first key and, on a first edit, a fast second key replaced the first: '-6'
    stored +6. The gate's numbers typed in its text box are kept, minus signs and all, and
    each later edit (grid or text) counts too."""
    app = AppPage(browser, f"{server}/Playground?p=reset&n=pytorch")
    try:
        assert app.page.get_by_text("Columns x[·]: W_iz").count() == 1  # PyTorch's table
        box = app.page.locator("textarea[aria-label^='…or type them']").first
        box.click()
        app.page.keyboard.press("Control+A")
        app.page.keyboard.type("0, -6, 0, 0, -6, 0")  # as fast as a machine types
        with app.changing():
            app.page.keyboard.press("Control+Enter")
        w = _weights(app)
        assert w is not None and w.W_iz[0, 1] == -6.0
        _type_in_cell(app, 2, "2.5")  # then the grid, twice
        _type_in_cell(app, 0, "-1.5")
        box = app.page.locator("textarea[aria-label^='…or type them']").first
        box.click()
        app.page.keyboard.press("Control+A")
        app.page.keyboard.type("-1.5, -6, 2.5, 0.25, -6, 0")  # and the text box again
        with app.changing():
            app.page.keyboard.press("Control+Enter")
        w = _weights(app)
        np.testing.assert_array_equal(w.W_iz[0], [-1.5, -6.0, 2.5])
        assert w.W_hz[0, 0] == 0.25 and w.b_iz[0] == -6.0
        assert app.exceptions() == []
    finally:
        app.close()


def _box(app: AppPage, selector: str) -> dict:
    el = app.page.locator(selector).first
    el.wait_for()
    return el.bounding_box()


def _inside(box: dict, width: int, height: int) -> bool:
    return (box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 1
            and box["y"] + box["height"] <= height + 1)


def _clipped(app: AppPage) -> list[str]:
    """Texts of buttons, headings and the step bar wider than their box (cut by ellipsis)."""
    return app.page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stMain"] button p, [data-testid="stMain"] h3,'
        + ' [data-testid="stMain"] [data-testid="stPageLink"] p')).filter(
        e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")


@pytest.mark.browser
@pytest.mark.parametrize("step", ["reset", "portrait"])
def test_lesson_fits_a_1280x720_projector(server, browser, step):
    """Question first, then the figure and the answer: all inside the first viewport,
    nothing clipped."""
    app = AppPage(browser, f"{server}/Lesson?step={step}")
    try:
        app.page.set_viewport_size({"width": 1280, "height": 720})
        app.wait_idle()
        main = "[data-testid='stMain']"
        radio = f"{main} [data-testid='stRadio']"
        assert _inside(_box(app, radio), 1280, 720)
        assert app.page.locator(f"{main} .js-plotly-plot").count() == 0  # hidden before
        with app.changing():
            app.page.locator(f"{radio} label").nth(1).click()
        app.wait_idle()
        app.shot(f"Lesson-{step}-1280x720")
        for sel in (f"{main} .js-plotly-plot", f"{main} [data-testid='stAlert']", radio,
                    f"{main} h3"):
            assert _inside(_box(app, sel), 1280, 720), sel
        assert _clipped(app) == []
        assert app.exceptions() == [] and app.errors == []
    finally:
        app.close()


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.browser
def test_theme_switch_reloads_the_link_in_dark_and_light_with_a_readable_diagram(server,
                                                                                browser):
    app = AppPage(browser, f"{server}/?n=course")
    try:
        def colours() -> tuple[float, float]:
            """(page background, the diagram's text colour) as luminance."""
            bg = app.page.evaluate("() => getComputedStyle(document.querySelector("
                                   "'[data-testid=stApp]')).backgroundColor")
            ink = app.page.evaluate("() => getComputedStyle(document.querySelector("
                                    "'[data-testid=stMain] svg[aria-label]')).color")
            return _luminance(bg), _luminance(ink)

        bg, ink = colours()
        assert bg > 200 and ink < 100  # light page, dark text
        app.page.get_by_text("🌙 dark").click()
        app.page.wait_for_url("**embed_options=dark_theme**")
        app.wait_idle()
        bg, ink = colours()
        assert bg < 60 and ink > 150  # dark page, light text: the diagram follows it
        app.shot("Home-dark")
        app.page.get_by_text("☀ light").click()
        app.page.wait_for_url("**embed_options=light_theme**")
        app.wait_idle()
        assert colours()[0] > 200
        assert app.exceptions() == []
    finally:
        app.close()


@pytest.mark.browser
def test_lecture_link_opens_with_large_text_and_the_sidebar_folded(server, browser):
    app = AppPage(browser, f"{server}/Lesson?step=reset&lecture=1")
    try:
        app.page.set_viewport_size({"width": 1280, "height": 720})
        app.wait_idle()
        assert app.page.evaluate("() => getComputedStyle(document.documentElement).fontSize") \
            == "20px"
        side = app.page.locator("[data-testid='stSidebar']").first.bounding_box()
        assert side is None or side["x"] + side["width"] <= 1  # folded away
        main = "[data-testid='stMain']"
        assert _inside(_box(app, f"{main} [data-testid='stRadio']"), 1280, 720)
        assert "lecture=1" in app.page.url and "step=reset" in app.page.url
        app.shot("Lesson-lecture-1280x720")
        assert app.exceptions() == []
    finally:
        app.close()
