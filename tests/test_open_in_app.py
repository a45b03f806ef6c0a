"""From a notebook into the app: the hand-over folder, its one URL parameter, and the server
that ``gru_viz.open_in_app`` starts (issue 14)."""

import os
import pathlib
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import gru_viz
from gru_viz import launch
from gru_viz.core.errors import GRUVizError
from gru_viz.io import opened
from gru_viz.io.checkpoint import load_checkpoint

ROOT = pathlib.Path(__file__).resolve().parents[1]
BRACKETS = ROOT / "assets" / "brackets.pt"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    f = tmp_path / "open"
    monkeypatch.setenv(opened.ENV, str(f))
    return opened.prepare(f)


def test_a_token_names_one_file_of_the_folder_and_nothing_else(folder, tmp_path, monkeypatch):
    token, path = launch.write_handover(BRACKETS, folder)
    assert path.parent == folder and path.name.startswith(token + "_")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    name, data = opened.find(token)
    assert data == BRACKETS.read_bytes() and name == "brackets.pt"
    secret = tmp_path / "secret.pt"
    secret.write_bytes(BRACKETS.read_bytes())
    for bad in ("../secret.pt", str(secret), "*", token.upper(), token[:-1], token + "0",
                token + "/../x", "", None, ["a"]):
        assert opened.find(bad) is None, bad
    link = "0" * 32
    (folder / f"{link}_x.pt").symlink_to(secret)  # a link out of the folder
    assert opened.find(link) is None
    (folder / f"{'1' * 32}_d.pt").mkdir()  # a folder
    assert opened.find("1" * 32) is None
    (folder / f"{'2' * 32}_x.txt").write_text("x")  # an extension the app does not read
    assert opened.find("2" * 32) is None
    monkeypatch.setattr(opened, "server_limits", lambda: SimpleNamespace(max_upload_mb=0.001))
    assert opened.find(token) is None  # over the upload limit
    monkeypatch.undo()
    monkeypatch.setenv(opened.ENV, str(folder))
    assert opened.find(token) is not None
    monkeypatch.delenv(opened.ENV)
    assert opened.find(token) is None  # a server without the folder reads nothing


def test_every_kind_of_object_is_handed_over(folder):
    res = gru_viz.trace_checkpoint(BRACKETS, text="(()")
    for obj in (res, res.checkpoint, BRACKETS, str(BRACKETS)):
        _, path = launch.write_handover(obj, folder)
        ck = load_checkpoint(path)
        assert ck.vocabulary == res.checkpoint.vocabulary
        np.testing.assert_array_equal(ck.head_weight, res.checkpoint.head_weight)
        for k, a in res.checkpoint.model.state_dict().items():
            np.testing.assert_array_equal(ck.model.state_dict()[k], a)
    model = gru_viz.GRUModel.random(2, 3, reset_after=False)
    _, path = launch.write_handover(model, folder)
    assert load_checkpoint(path).model.reset_after is False
    with pytest.raises(GRUVizError, match="no weights"):
        launch.write_handover(res.trace, folder)
    with pytest.raises(GRUVizError, match="Cannot open"):
        launch.write_handover(42, folder)
    with pytest.raises(GRUVizError, match="No file"):
        launch.write_handover(folder / "missing.pt", folder)


def test_launch_false_starts_nothing_and_prints_the_address(folder, capsys):
    link = gru_viz.open_in_app(BRACKETS, launch=False, port=8765)
    out = capsys.readouterr().out
    token = link.url.rsplit("=", 1)[1]
    assert link.url == f"http://127.0.0.1:8765/Explorer?open={token}" and link.url in out
    assert f"{opened.ENV}={folder}" in out and "proc" not in launch._server
    assert opened.find(token) is not None
    assert link.url in link._repr_html_() and "<script" not in link._repr_html_()
    other = gru_viz.open_in_app(BRACKETS, url="http://example.test:9000/")
    assert other.url.startswith("http://example.test:9000/Explorer?open=")


def _explorer(token=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/5_Explorer.py")  # entered from the home page, as the frame expects
    if token is not None:
        at.query_params["open"] = token
    return at.run()


def test_the_explorer_opens_the_handed_over_model(folder):
    model = gru_viz.GRUModel.random(3, 7, num_layers=2, seed=3)
    token, _ = launch.write_handover(model, folder, label="mine")
    at = _explorer(token)
    assert not at.exception
    picker = at.sidebar.selectbox[0]
    assert picker.value == "from the notebook: mine.pt"
    assert any("hidden size 7" in c.value for c in at.caption)
    at.run()  # later reruns keep it
    assert at.sidebar.selectbox[0].value == "from the notebook: mine.pt"


def test_the_explorer_ignores_a_token_it_does_not_have(folder, monkeypatch):
    at = _explorer("f" * 32)
    assert not at.exception and at.warning
    assert at.sidebar.selectbox[0].value != "from the notebook: mine.pt"
    token, _ = launch.write_handover(BRACKETS, folder)
    monkeypatch.delenv(opened.ENV)  # a classroom server: no hand-over folder
    at = _explorer(token)
    assert not at.exception and at.warning
    assert not at.sidebar.selectbox[0].value.startswith("from the notebook")


@pytest.mark.browser
def test_open_in_app_starts_one_server_and_reuses_it(folder):
    try:
        link = gru_viz.open_in_app(BRACKETS)
        port = launch._server["port"]
        with urllib.request.urlopen(link.url, timeout=10) as r:
            assert r.status == 200
        again = gru_viz.open_in_app(BRACKETS)
        assert launch._server["port"] == port and again.url != link.url
        proc = launch._server["proc"]
        assert proc.poll() is None
    finally:
        launch.stop_app()
    assert proc.poll() is not None and not launch._server
    assert os.environ[opened.ENV] == str(folder)


def test_a_recording_is_handed_over_as_its_capture(folder):
    import torch

    torch.manual_seed(0)
    gru = torch.nn.GRU(3, 5, batch_first=True).eval()
    rec = gru_viz.record(gru, torch.randn(2, 6, 3))
    link = gru_viz.open_in_app(rec, launch=False)
    assert link.file.name.endswith(".gruviz.npz")
    ck = load_checkpoint(link.file)
    assert ck.model.hidden_size == 5
    at = _explorer(link.url.rsplit("=", 1)[1])
    assert not at.exception
    assert at.sidebar.selectbox[0].value.startswith("from the notebook: recording")


def test_a_result_opens_with_its_own_input(folder):
    res = gru_viz.trace_checkpoint(BRACKETS, text="(([[]]))[")
    link = gru_viz.open_in_app(res, launch=False)
    token = link.url.rsplit("=", 1)[1]
    assert opened.find_input(token) == "(([[]]))["
    for bad in ("../x", token.upper(), None):
        assert opened.find_input(bad) is None
    at = _explorer(token)
    assert not at.exception
    assert at.text_area[0].value == "(([[]]))["
    at.text_area[0].set_value("()").run()  # the user's edit is kept, not overwritten
    at.run()
    assert at.text_area[0].value == "()"
    assert not at.exception
