"""The Playground's charts drawn in place (gru_viz/ui/charts.js) follow the app's theme."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HEATMAPS = "document.querySelector('.st-key-pg-heatmaps .js-plotly-plot')"
FONT = f"() => {{ const gd = {HEATMAPS}; return gd && gd._fullLayout ? gd._fullLayout.font.color : null; }}"


def test_the_in_place_charts_take_a_new_theme(opened):
    """A theme change (here the system's, which Streamlit follows) reruns the page with the
    same figures: the charts kept the old theme's text colour, dark on dark."""
    app = opened("Playground")
    app.page.wait_for_function(f"({FONT})() !== null", timeout=60_000)
    light = app.page.evaluate(FONT)
    app.page.emulate_media(color_scheme="dark")
    app.page.wait_for_function(f"({FONT})() !== {light!r}", timeout=20_000)
    app.page.emulate_media(color_scheme="light")
    app.page.wait_for_function(f"({FONT})() === {light!r}", timeout=20_000)
