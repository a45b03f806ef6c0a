"""Issue 17, from Chromium's side: hostile strings in every field of a checkpoint, a weights
JSON and every URL parameter make no request leave for another host, and no element of the
page carries a link, an image or a style taken from them (they are shown as text)."""

from __future__ import annotations

import urllib.parse

import pytest

from gru_viz.core.model import GRUModel
from gru_viz.teaching.urlstate import weights_to_json
from tests.browser import AppPage
from tests.helpers import HOSTILE_VOCAB, IMG, LINK, STYLE, hostile_checkpoint

pytestmark = pytest.mark.browser
LOCAL_IMG = "![j](pixel.png)"  # a relative image would be fetched from the app's own host
# Elements that would fetch, link or style from the input: none may exist.
FROM_INPUT = """() => Array.from(document.querySelectorAll(
    '[src*="evil"], [href*="evil"], [srcset*="evil"], [style*="evil"], [src*="pixel"],'
    + ' [style*="url("], a[href^="http"]:not([href*="127.0.0.1"]):not([href*="localhost"])'
    + ':not([href*="streamlit.io"])'))
    .filter(e => !/^[^(]*(url\\(("|&quot;)?#[^)]*\\)[^(]*)*$/.test(e.getAttribute('style') || '')
                 || /evil|pixel|href|src/.test(e.outerHTML))
    .map(e => e.outerHTML.slice(0, 200))"""


class Watched:
    """A tab that records every request's host."""

    def __init__(self, browser, url: str):
        self.hosts: list[str] = []
        self.urls: list[str] = []
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.on("request", lambda r: (self.urls.append(r.url), self.hosts.append(
            urllib.parse.urlparse(r.url).hostname or "")))
        self.app = AppPage.__new__(AppPage)
        self.app.page = ctx.new_page()
        self.app.errors = []
        self.app.page.goto(url)
        self.app.wait_idle()

    def check(self) -> None:
        page = self.app.page
        page.wait_for_timeout(300)  # images start loading as soon as they are in the DOM
        assert set(self.hosts) <= {"127.0.0.1", ""}, [u for u in self.urls
                                                     if "127.0.0.1" not in u]
        assert not [u for u in self.urls if "pixel" in urllib.parse.urlparse(u).path]
        assert page.evaluate(FROM_INPUT) == []
        assert not self.app.exceptions()

    def close(self) -> None:
        self.app.page.context.close()


@pytest.mark.parametrize("path", ["Playground", "Step_through"])
def test_hostile_link_parameters(server, browser, path):
    params = {"p": IMG, "x": f"{IMG}{STYLE}", "n": LINK, "r": IMG, "t": LOCAL_IMG,
              "w": IMG}
    tab = Watched(browser, f"{server}/{path}?{urllib.parse.urlencode(params)}")
    try:
        tab.check()
        assert "evil.example" in tab.app.page.inner_text("body")  # shown as text
    finally:
        tab.close()


def test_hostile_checkpoint_in_the_explorer(server, browser, tmp_path):
    tab = Watched(browser, f"{server}/Explorer")
    try:
        app = tab.app
        app.select("Model", "upload a file")
        app.page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(
            files=[{"name": f"{LOCAL_IMG}{STYLE}.pt", "mimeType": "application/octet-stream",
                    "buffer": hostile_checkpoint()}])
        app.page.get_by_text("evil", exact=False).first.wait_for(timeout=60000)
        app.wait_idle()
        tab.check()
        for view in ("Units", "Predictions", "Export"):
            app.page.locator("[data-testid='stRadio'] label").filter(has_text=view).first.click()
            app.wait_idle()
            tab.check()
    finally:
        tab.close()


def test_hostile_weights_json_in_the_playground(server, browser, tmp_path):
    w = GRUModel.random(4, 2, seed=0).cells[0][0]
    tab = Watched(browser, f"{server}/Playground")
    try:
        app = tab.app
        app.widget("stFileUploader", "Upload weights").locator(
            "[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": f"{LOCAL_IMG}.json", "mimeType": "application/json",
                    "buffer": weights_to_json(w, HOSTILE_VOCAB.symbols).encode()}])
        app.page.get_by_text("evil", exact=False).first.wait_for(timeout=60000)
        app.wait_idle()
        tab.check()
    finally:
        tab.close()


@pytest.mark.parametrize("path", ["Phase_portrait", "Memory_and_gradients"])
def test_hostile_checkpoint_on_the_dynamics_pages(server, browser, path):
    tab = Watched(browser, f"{server}/{path}")
    try:
        app = tab.app
        if path == "Phase_portrait":
            app.page.locator("[data-testid='stRadio'] label").filter(
                has_text="a larger model").first.click()
            app.wait_idle()
        box = app.page.locator("[data-testid='stSelectbox']").filter(
            has=app.page.locator("[data-testid='stWidgetLabel']", has_text="Model")).first
        box.click()
        app.page.get_by_role("option").filter(has_text="upload").first.click()
        app.wait_idle()
        app.page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(
            files=[{"name": f"{LOCAL_IMG}.pt", "mimeType": "application/octet-stream",
                    "buffer": hostile_checkpoint()}])
        app.page.get_by_text("evil", exact=False).first.wait_for(timeout=60000)
        app.wait_idle()
        tab.check()
    finally:
        tab.close()

