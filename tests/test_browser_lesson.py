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
