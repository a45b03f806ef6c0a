"""Issue 17: the shipped Streamlit config is safe for a shared classroom server."""

import hashlib

import tomllib
from streamlit import config

from gru_viz.core.limits import Limits
from gru_viz.ui import uploads
from tests.app_helpers import ROOT, page, upload
from tests.helpers import own_format


def test_the_shipped_config_binds_locally_and_hides_error_details():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["server"]["maxUploadSize"] == Limits().max_upload_mb  # agree before a run
    assert cfg["server"]["disconnectedSessionTTL"] <= 120


def test_streamlits_upload_cap_follows_the_apps_limit(monkeypatch):
    before = config.get_option("server.maxUploadSize")
    try:
        monkeypatch.setenv("GRUVIZ_MAX_UPLOAD_MB", "5")
        at = page()
        assert config.get_option("server.maxUploadSize") == 5
        uploader = at.sidebar.selectbox(key="ex.source.w").select("upload a file").run()
        assert uploader.sidebar.get("file_uploader")[0].proto.max_upload_size_mb == 5
    finally:
        config.set_option("server.maxUploadSize", before)


def test_an_upload_is_hashed_once_not_on_every_rerun(monkeypatch):
    calls, real = [], hashlib.sha256

    class Counting:  # uploads' own hashlib, counting
        @staticmethod
        def sha256(data=b""):
            calls.append(len(data))
            return real(data)

    monkeypatch.setattr(uploads, "hashlib", Counting)
    at = upload(page(), "own.pt", own_format())
    n = len(calls)
    assert n >= 1
    at.run()
    at.radio(key="ex.view.w").set_value("Units").run()
    assert len(calls) == n
