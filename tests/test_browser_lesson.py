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
    titles) of the first data editor, type ``text``, press Enter, wait for the rerun."""
    grid = app.page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    box = grid.bounding_box()
    # a canvas: the row titles take about 50 px, each number column about 65 px
    app.page.mouse.click(box["x"] + 85 + 65 * column, box["y"] + 52)
    time.sleep(0.5)
    app.page.keyboard.type(text)
    time.sleep(0.3)
    app.page.keyboard.press("Enter")
    time.sleep(1.5)
    app.wait_idle()


@pytest.mark.browser
def test_matrix_editor_takes_a_typed_minus_and_every_edit(server, browser):
    """The reset preset (3 inputs: a matrix editor), PyTorch notation: typing -6 into W_iz[0,1]
    stores −6 (a number cell dropped the '-'), and the edits after it count too."""
    app = AppPage(browser, f"{server}/Playground?p=reset&n=pytorch")
    try:
        assert app.page.get_by_text("Columns x[·]: W_iz").count() == 1  # PyTorch's table
        _type_in_cell(app, 1, "-6")
        w = _weights(app)
        assert w is not None and w.W_iz[0, 1] == -6.0
        _type_in_cell(app, 2, "2.5")
        _type_in_cell(app, 0, "-1.5")
        w = _weights(app)
        np.testing.assert_array_equal(w.W_iz[0], [-1.5, -6.0, 2.5])
        assert app.exceptions() == []
    finally:
        app.close()
