"""Every page in a real browser on a fresh session: renders, no exception, no JS errors."""

import pytest

from tests.browser import AppPage, page_slugs

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("slug", page_slugs())
def test_page_opens_by_its_url(server, browser, slug):
    app = AppPage(browser, f"{server}/{slug}")
    try:
        app.shot(f"{slug or 'home'}-default")
        assert app.exceptions() == []
        assert "Traceback" not in app.page.inner_text("body")
        assert app.errors == []
        charts = app.chart_data()
        # every chart on the page is drawn and holds data
        assert app.drawn_charts() == len(charts)
        assert all(traces for traces in charts)
    finally:
        app.close()
