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


# Every tick label the in-place charts drew: shown (not hidden by Plotly) and inside its
# chart's box, per chart element key.
LABELS = """() => Array.from(document.querySelectorAll('.gvc')).map(gd => {
  const box = gd.getBoundingClientRect();
  return Array.from(gd.querySelectorAll('.xtick text, .ytick text')).map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, shown: getComputedStyle(t).display !== 'none',
            inside: r.left >= box.left - 1 && r.right <= box.right + 1
                    && r.top >= box.top - 1 && r.bottom <= box.bottom + 1};
  });
})"""


def test_the_in_place_charts_keep_every_tick_label_whole(opened):
    """Plotly is told not to check tick labels for overflow (a measurement of every label on
    every redraw): the margins Plotly makes for them (automargin) must hold them all, at the
    projector's size and with a long input, whose labels are widest."""
    rows = ";".join(f"{(-1) ** t * 0.123456:.6f}" for t in range(200))
    app = opened(f"Playground?x={rows}")
    app.page.set_viewport_size({"width": 1280, "height": 720})
    app.wait_idle()
    charts = app.page.evaluate(LABELS)
    assert len(charts) == 2 and all(len(labels) >= 4 for labels in charts)
    for labels in charts:
        assert all(lab["shown"] and lab["inside"] for lab in labels), [
            lab for lab in labels if not (lab["shown"] and lab["inside"])]
