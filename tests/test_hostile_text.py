"""Issue 17: text from a file, a link or a user is shown as data on every page and in the CLI.

Hostile strings sit in every field of a checkpoint (description, metric keys, tensor and GRU
key names, vocabulary, the upload's file name), in a Playground weights JSON and in every URL
parameter. Whatever Streamlit renders as Markdown must hold no live image, link or directive;
Plotly's data strings no live tag; the terminal no escape sequence. The browser test
(test_browser_hostile.py) checks the same from Chromium's side.
"""

from __future__ import annotations

import json
import re

import pytest
import torch

from gru_viz.cli import main
from gru_viz.core.model import GRUModel
from gru_viz.teaching.urlstate import weights_to_json
from tests.app_helpers import PLAYGROUND, STEP, charts, open_page, page, upload
from tests.helpers import BIDI, HOSTILE_VOCAB, IMG, LINK, STYLE, hostile_checkpoint, saved


def hostile_state_dict() -> bytes:
    """GRUs under hostile key names (a raw state dict: two GRUs, so the names are listed)."""
    torch.manual_seed(0)
    sd = {f"{name}.{k}": v for name in (f"enc{IMG}", f"dec{LINK}")
          for k, v in torch.nn.GRU(2, 3).state_dict().items()}
    return saved(sd)


LIVE_MD = re.compile(r"(?<!\\)!\[|(?<!\\)\]\((?!\s)|(?<!\\):red\[|(?<!\\)<span|\u202e")


def rendered_text(at) -> list[str]:
    """Every string Streamlit renders as Markdown on the page: bodies and labels."""
    out = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                 "subheader", "header"):
        out += [e.value for e in getattr(at, kind)]
    for kind in ("selectbox", "radio", "text_input", "text_area", "slider", "number_input",
                 "checkbox", "toggle", "button", "multiselect", "select_slider", "expander",
                 "tabs", "metric"):
        for w in at.get(kind) if kind in ("expander", "metric") else getattr(at, kind):
            out.append(getattr(w, "label", "") or "")
            out.append(getattr(w, "help", "") or "")
    for w in at.radio:  # radio options are Markdown too
        out += [str(o) for o in w.proto.options]
    return out


def assert_no_live_text(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    live = [s for s in rendered_text(at) if s and LIVE_MD.search(s)
            and not s.startswith("<svg")]  # the cell diagram: its strings are html-escaped
    assert live == []
    for spec in charts(at):
        for trace in spec["data"]:
            for key in ("text", "customdata", "x", "y", "name"):
                for s in _strings(trace.get(key)):
                    assert "<" not in s, (key, s)
        for name, axis in spec["layout"].items():
            if name.startswith(("xaxis", "yaxis")):
                for s in _strings(axis.get("ticktext")):
                    assert "<" not in s and "\u202e" not in s, s
        layout = spec["layout"]  # our titles keep their markup (<b>, <br>): no data's
        for s in [(layout.get("title") or {}).get("text", ""),
                  *(a.get("text", "") for a in layout.get("annotations", []))]:
            assert "<span" not in s and "\u202e" not in s, s


def _strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, (list, tuple)):
        for a in v:
            yield from _strings(a)


@pytest.mark.parametrize("view", ["Gates", "Units", "Saturation", "Unit search",
                                  "Predictions", "Compare", "Export"])
def test_explorer_shows_a_hostile_checkpoint_as_data(view):
    at = upload(page(), f"{IMG}{BIDI}.pt", hostile_checkpoint())
    at.radio(key="ex.view.w").set_value(view).run()
    assert_no_live_text(at)
    assert any("evil.example" in s.replace("\\", "") for s in rendered_text(at))  # shown


def test_explorer_lists_hostile_gru_names_as_data():
    at = upload(page(), f"{LINK}.pt", hostile_state_dict())
    assert_no_live_text(at)


@pytest.mark.parametrize("param", ["p", "x", "n", "r", "t", "w"])
@pytest.mark.parametrize("value", [IMG, LINK, STYLE, BIDI])
@pytest.mark.parametrize("where", [PLAYGROUND, STEP])
def test_every_link_parameter_is_shown_as_data(where, param, value):
    at = open_page(where, **{param: value})
    assert_no_live_text(at)


def test_a_weights_json_with_a_hostile_vocabulary():
    w = GRUModel.random(4, 2, seed=0).cells[0][0]
    doc = weights_to_json(w, HOSTILE_VOCAB.symbols).encode()
    at = open_page(PLAYGROUND)
    at.sidebar.get("file_uploader")[0].set_value((f"{IMG}.json", doc, "application/json")).run()
    assert not at.exception
    assert at.session_state["lab.vocab"] == HOSTILE_VOCAB.symbols
    assert_no_live_text(at)
    at.switch_page(STEP).run()
    assert_no_live_text(at)


@pytest.mark.parametrize("where", ["pages/3_Phase_portrait.py",
                                   "pages/4_Memory_and_gradients.py"])
def test_dynamics_pages_show_a_hostile_checkpoint_as_data(where):
    from streamlit.testing.v1 import AppTest

    from tests.app_helpers import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(where).run()
    for radio in at.radio:
        if "a larger model" in radio.options:
            radio.set_value("a larger model").run()
    box = next(s for s in at.selectbox if "upload" in " ".join(map(str, s.options)).lower())
    box.select(next(o for o in box.options if "upload" in str(o).lower())).run()
    at.get("file_uploader")[0].set_value((f"{IMG}.pt", hostile_checkpoint(),
                                          "application/octet-stream")).run()
    assert_no_live_text(at)
    for radio in at.radio:
        if radio.key and radio.key.startswith("mg.view"):
            for option in radio.options:
                radio.set_value(option).run()
                assert_no_live_text(at)


def test_inspect_prints_no_terminal_control(tmp_path, capsys):
    path = tmp_path / "hostile.pt"
    path.write_bytes(hostile_checkpoint())
    for args in ([], ["--json"]):
        assert main(["inspect", str(path), *args]) == 0
        out = capsys.readouterr().out
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out)
        assert "<U+001B>" in out or "\\u001b" in out  # shown, not obeyed
    json.loads(out)  # still JSON


def test_the_cli_html_draws_a_hostile_vocabulary_as_text(tmp_path):
    path, out = tmp_path / "hostile.pt", tmp_path / "t.html"
    path.write_bytes(hostile_checkpoint())
    assert main(["trace", str(path), "--ids", "0 1 2 3", "--out", str(out)]) == 0
    html = out.read_text()
    assert not re.search(r"(<|\\u003c)span style", html)
    assert "&lt;span style" in html or "\\u0026lt;span style" in html
