"""A real `streamlit run app.py` server and headless Debian Chromium, for the browser tests.

Playwright cannot download its own browser here: we launch Debian's chromium by path.
Without chromium or playwright the browser tests skip, unless GRUVIZ_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.server import serve

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
SHOTS = pathlib.Path(os.environ.get("GRUVIZ_SHOTS")
                     or pathlib.Path(tempfile.gettempdir()) / "gruviz-test-shots")


def require_browser() -> str:
    """Chromium's path, or skip (fail in CI) when the browser stack is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        chromium = None
    if chromium is None:
        reason = "browser tests need Debian's chromium and playwright (apt-get install chromium)"
        if os.environ.get("GRUVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return chromium


def page_slugs() -> list[str]:
    """URL paths of every page: '' for the home page, pages/3_Step_through.py -> 'Step_through'."""
    names = sorted(p.stem for p in (ROOT / "pages").glob("*.py"))
    return [""] + [n.split("_", 1)[1] if n[:1].isdigit() and "_" in n else n for n in names]


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The app on a free port of 127.0.0.1; its log goes beside the screenshots."""
    require_browser()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with open(SHOTS / "streamlit.log", "w") as log, serve(ROOT, log) as (url, _pid):
        yield url


@pytest.fixture(scope="session")
def browser():
    chromium = require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _probe(url: str) -> bool:
    """Streamlit's frontend, opened at /<Page>, first probes /<Page>/_stcore/{health,host-config}
    and falls back to the server root on 404: expected, not an error of ours."""
    path = urllib.parse.urlparse(url).path
    return path.endswith(("/_stcore/health", "/_stcore/host-config")) and path.count("/") > 2


class AppPage:
    """One browser tab on one page of the app, collecting JS errors."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", self._console)
        self.page.on("response", lambda r: r.status >= 400 and not _probe(r.url)
                     and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.goto(url)
        self.wait_idle()

    def _console(self, msg) -> None:
        url = msg.location.get("url", "")
        if msg.type == "error" and not (msg.text.startswith("Failed to load resource")
                                        and _probe(url)):
            self.errors.append(f"console: {msg.text} at {url}")

    def wait_idle(self, timeout_ms: int = 60000) -> None:
        """Until the script run has ended and the page has stopped changing.

        Streamlit has no 'run finished' event in the DOM: wait until the running indicator and
        the loading skeletons are gone and the element count is stable for 0.75 s.
        """
        self.page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
        self.page.wait_for_function(
            """() => {
                const busy = document.querySelector(
                    '[data-testid="stStatusWidget"], [data-testid="stAppSkeleton"],'
                    + ' [data-testid="stSkeleton"], [data-stale="true"]');
                const n = document.querySelectorAll('*').length;
                const now = Date.now();
                const w = window.__gruviz_idle || (window.__gruviz_idle = {n: -1, since: now});
                if (busy || n !== w.n) { w.n = n; w.since = now; return false; }
                return now - w.since > 750;
            }""", timeout=timeout_ms, polling=100)

    def exceptions(self) -> list[str]:
        return self.page.locator("[data-testid='stException']").all_inner_texts()

    def chart_data(self) -> list[list[dict]]:
        """Every drawn Plotly chart's traces as Plotly holds them in the page (gd.data)."""
        return self.page.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
            ".map(gd => (gd.data || []).map(t => ({type: t.type, z: t.z, y: t.y, x: t.x})))")

    def drawn_charts(self) -> int:
        """Charts whose SVG holds drawn marks (heatmap images, paths or points)."""
        return self.page.evaluate(
            "() => Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd =>"
            " gd.querySelector('.main-svg') && gd.querySelectorAll("
            "'.hm image, .heatmaplayer image, .scatterlayer path, .point, .imagelayer image,"
            " .barlayer path, .contourlayer path').length > 0).length")

    def shot(self, name: str) -> pathlib.Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.page.close()
