"""Files handed from a notebook to the app: one folder, names the URL cannot choose.

``gru_viz.open_in_app(obj)`` writes a model or capture into the hand-over folder under a fresh
random name ``<32 hex digits>_<label><extension>`` and opens the Explorer at
``/Explorer?open=<32 hex digits>``. The app reads only what that token names:

- only when the server was started with ``GRUVIZ_OPEN_DIR`` set (``open_in_app`` sets it for
  the server it starts); a server without it, e.g. a classroom's, ignores the parameter;
- the parameter must be exactly 32 lowercase hex digits: no path, no name, no wildcard;
- the one plain file of that folder starting with the token (not a link, not a folder, inside
  the folder once resolved), of an accepted extension, within the upload size limit.

The random name (128 bits) keeps another user of the same machine from guessing the address of
a file, and a link from elsewhere can only open a file the user put there themselves; the file is
then read like an upload (untrusted, ``weights_only``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path

from gru_viz.core.limits import server_limits

ENV = "GRUVIZ_OPEN_DIR"
PARAM = "open"  # the Explorer's query parameter
TOKEN = re.compile(r"[0-9a-f]{32}")
ACCEPTED = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".npz", ".keras", ".h5", ".onnx")
MAX_AGE = 7 * 24 * 3600  # seconds a hand-over file is kept
INPUT = ".input.txt"  # beside a model: the text to start the Explorer with (<token>.input.txt)
MAX_INPUT = 1_000_000  # bytes of such a text
_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


def default_folder() -> Path:
    """``$XDG_CACHE_HOME/gru-viz/open`` (``~/.cache/gru-viz/open``)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gru-viz" / "open"


def server_folder() -> Path | None:
    """The hand-over folder this app server reads, or None when it reads none."""
    value = os.environ.get(ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def new_name(label: str, extension: str) -> tuple[str, str]:
    """(token, file name) for a new hand-over file; the label is only for people."""
    if extension not in ACCEPTED and not extension.endswith(ACCEPTED):
        raise ValueError(f"Extension {extension!r}: one of {', '.join(ACCEPTED)}.")
    token = secrets.token_hex(16)
    label = _LABEL.sub("_", label).strip("._")[:40] or "model"
    return token, f"{token}_{label}{extension}"


def prepare(folder: Path) -> Path:
    """The folder, created readable by its owner only; hand-over files older than a week are
    removed from it."""
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = folder.resolve()
    now = time.time()
    for p in folder.iterdir():
        with contextlib.suppress(OSError):
            if (TOKEN.fullmatch(p.name[:32]) and p.name[32:33] in ("_", ".") and p.is_file()
                    and now - p.stat().st_mtime > MAX_AGE):
                p.unlink()
    return folder


def find(token: object, folder: Path | None = None) -> tuple[str, bytes] | None:
    """(label, bytes) of the file the token names in the server's folder, else None."""
    folder = server_folder() if folder is None else Path(folder).resolve()
    if folder is None or not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    try:
        matches = [p for p in folder.iterdir() if p.name.startswith(token + "_")]
    except OSError:
        return None
    if len(matches) != 1:
        return None
    path = matches[0]
    try:
        if path.is_symlink() or not path.is_file() or path.resolve().parent != folder:
            return None
        if not path.name.endswith(ACCEPTED):
            return None
        if path.stat().st_size > server_limits().max_upload_mb * 2**20:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return _LABEL.sub("_", path.name[len(token) + 1:]), data  # only what new_name writes


def find_input(token: object, folder: Path | None = None) -> str | None:
    """The input text handed over with the token's model (``<token>.input.txt``), else None."""
    folder = server_folder() if folder is None else Path(folder).resolve()
    if folder is None or not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    path = folder / f"{token}{INPUT}"
    try:
        if path.is_symlink() or not path.is_file() or path.resolve().parent != folder:
            return None
        if path.stat().st_size > MAX_INPUT:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
