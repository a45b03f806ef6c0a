"""A real `streamlit run app.py` server and headless Debian Chromium, for the browser tests.

Playwright cannot download its own browser here: we launch Debian's chromium by path.
Without chromium or playwright the browser tests skip, unless GRUVIZ_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import base64
import os
import pathlib
import shutil
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import NOTATIONS
from gru_viz.figures.traces import FIELDS, field_values
from gru_viz.io.inputs import Vocabulary, parse_rows
from gru_viz.teaching.presets import DEFAULT, all_presets
from gru_viz.teaching.urlstate import ViewState, from_query
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


def decode_array(value) -> np.ndarray | None:
    """A Plotly array as it sits in the page, as NumPy.

    plotly.py sends NumPy arrays as ``{dtype, bdata, shape}`` (little-endian bytes in base64;
    ``shape`` like "2, 8" for 2-D); lists (e.g. of labels) stay lists.
    """
    if value is None:
        return None
    if isinstance(value, dict) and "bdata" in value:
        dtype = np.dtype("<" + {"u1c": "u1"}.get(value["dtype"], value["dtype"]))
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype)
        shape = value.get("shape")
        if shape:
            dims = shape.split(",") if isinstance(shape, str) else shape
            a = a.reshape([int(d) for d in dims])
        return a
    return np.asarray(value)


# Every chart in the page as a list of strings, cheap to compare: per trace its type, name and
# the arrays' base64 (or JSON), then the layout's shapes, annotation texts and title.
_FINGERPRINT = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(gd => {
    const a = v => v === undefined ? '' : (v && v.bdata !== undefined) ? v.bdata
                                                                       : JSON.stringify(v);
    const lay = gd.layout || {};
    return (gd.data || []).flatMap(t => [t.type + '|' + t.name, a(t.x), a(t.y), a(t.z)]).concat(
        [a(lay.shapes), a((lay.annotations || []).map(n => n.text)),
         a((lay.title || {}).text), '--']);
})"""


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
        self.sent: list[float] = []  # when the page sent the server a websocket message
        self.received: list[float] = []  # when a websocket message from the server arrived
        self.received_bytes: list[int] = []  # and its size
        self.page.on("websocket", self._watch)
        self.page.goto(url)
        self.wait_idle()

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda _payload: self.sent.append(time.monotonic()))
        ws.on("framereceived", self._got)

    def _got(self, payload: str | bytes) -> None:
        self.received.append(time.monotonic())
        self.received_bytes.append(len(payload))

    def _console(self, msg) -> None:
        url = msg.location.get("url", "")
        if msg.type == "error" and not (msg.text.startswith("Failed to load resource")
                                        and _probe(url)):
            self.errors.append(f"console: {msg.text} at {url}")

    def wait_idle(self, timeout_ms: int = 60000) -> None:
        """Until the script run has ended and the page has stopped changing.

        Streamlit has no 'run finished' event in the DOM: wait until the main area holds an
        element, the running indicator, loading skeletons, spinners (e.g. a cached function's)
        and stale elements are gone, and the element count is stable for 0.75 s.
        """
        self.page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
        # stable for 0.75 s from now on, not counting a stability seen by an earlier call
        self.page.evaluate("() => { window.__gruviz_idle = undefined; }")
        # Until the first run has drawn something: a cold server can take seconds to start it.
        self.page.wait_for_function(
            """() => {
                const busy = document.querySelector(
                    '[data-testid="stStatusWidget"], [data-testid="stAppSkeleton"],'
                    + ' [data-testid="stSkeleton"], [data-stale="true"],'
                    + ' [data-testid="stSpinner"], [data-testid="stConnectionStatus"]')
                    || !document.querySelector(
                    '[data-testid="stMain"] [data-testid="stElementContainer"]');
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

    def figures(self) -> list[dict]:
        """Every chart: ``data`` (traces with type, name and x, y, z as NumPy arrays) and
        ``layout`` (shapes, annotation texts, title text)."""
        raw = self.page.evaluate("""() => {
            const plain = v => (v && v.bdata !== undefined)
                ? {dtype: v.dtype, bdata: v.bdata, shape: v.shape} : v;
            return Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
                data: (gd.data || []).map(t => ({type: t.type, name: t.name, x: plain(t.x),
                                                 y: plain(t.y), z: plain(t.z)})),
                layout: {shapes: (gd.layout || {}).shapes || [],
                         annotations: ((gd.layout || {}).annotations || []).map(a => a.text),
                         title: ((gd.layout || {}).title || {}).text || ''}}));
        }""")
        for fig in raw:
            for t in fig["data"]:
                for k in ("x", "y", "z"):
                    t[k] = decode_array(t[k])
        return raw

    @contextmanager
    def changing(self, timeout_ms: int = 60000):
        """Around an action that must change some chart: waits until a chart's data or layout
        differs from before the action, then until the page is idle."""
        self.page.evaluate(f"() => {{ window.__gruviz_mark = ({_FINGERPRINT})(); }}")
        yield
        self.page.wait_for_function(
            f"""() => {{
                const now = ({_FINGERPRINT})(), was = window.__gruviz_mark;
                return now.length !== was.length || now.some((s, i) => s !== was[i]);
            }}""", timeout=timeout_ms, polling=100)
        self.wait_idle(timeout_ms)

    def widget(self, testid: str, label: str):
        """The widget of that kind (e.g. 'stSlider') whose label contains ``label``."""
        return self.page.locator(f"[data-testid='{testid}']").filter(
            has=self.page.locator("[data-testid='stWidgetLabel']", has_text=label))

    def select(self, label: str, option: str) -> None:
        """Pick ``option`` (its shown text) in the selectbox labelled ``label``."""
        self.widget("stSelectbox", label).click()
        self.page.get_by_role("option", name=option, exact=True).click()

    def choose(self, label: str, option: str) -> None:
        """Click the radio option (shown text) in the radio group labelled ``label``."""
        self.widget("stRadio", label).locator("label").filter(has_text=option).click()

    def upload(self, label: str, path) -> None:
        """Give the file uploader labelled ``label`` a file, as the file chooser would."""
        self.widget("stFileUploader", label).locator(
            "[data-testid='stFileUploaderDropzoneInput']").set_input_files(path)

    def slide(self, label: str, key: str = "ArrowRight", times: int = 1) -> None:
        """Move a slider with the keyboard (react-aria: focus its range input, press keys)."""
        handle = self.widget("stSlider", label).locator("input[type='range']").first
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def type_text(self, label: str, text: str) -> None:
        """Replace a text input's or text area's text and commit it (Enter, Ctrl+Enter)."""
        box = self.widget("stTextInput", label).locator("input")
        if box.count():
            box.fill(text)
            box.press("Enter")
        else:
            area = self.widget("stTextArea", label).locator("textarea")
            area.fill(text)
            area.press("Control+Enter")

    def shot(self, name: str, tall: bool = False) -> pathlib.Path:
        """A screenshot into SHOTS. ``tall``: the window grows to the app's whole height for
        the shot (Streamlit scrolls inside its own container, not the page)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        size = self.page.viewport_size
        if tall:
            height = self.page.evaluate(
                "() => Math.max(...Array.from(document.querySelectorAll("
                "'[data-testid=\"stMain\"], [data-testid=\"stSidebarContent\"]'))"
                ".map(e => e.scrollHeight), 0)")
            self.page.set_viewport_size({"width": size["width"],
                                         "height": max(size["height"], min(height, 8000))})
            self.wait_idle()
        self.page.screenshot(path=str(path), full_page=True)
        if tall:
            self.page.set_viewport_size(size)
        return path

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def opened(server, browser):
    """Open pages of the app: ``opened(path)``; every tab is checked clean and closed."""
    pages: list[AppPage] = []

    def open_(path: str) -> AppPage:
        pages.append(AppPage(browser, f"{server}/{path}"))
        return pages[-1]

    yield open_
    try:
        for app in pages:
            assert app.exceptions() == []
            assert app.errors == []
    finally:
        for app in pages:
            app.close()


def params_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlparse(url).query, keep_blank_values=True))


def expected(params: dict[str, str]) -> dict[str, np.ndarray]:
    """Field -> (H, T) values, as the playground's heatmaps show them, for a link's state."""
    p = all_presets()[DEFAULT]
    view, problems = from_query(params, ViewState(p.weights, p.text))
    assert problems == []
    w = view.weights.replace(reset_after=view.reset_after)
    if view.vocabulary:
        v = Vocabulary(view.vocabulary)
        x = v.one_hot(v.encode(view.text.strip()))
    else:
        x = parse_rows(view.text, w.input_size)
    cell = run(GRUModel(((w,),)), x).layers[0][0]
    return {f: field_values(cell, NOTATIONS[view.notation], f).T for f in FIELDS}
