"""From a notebook into the app: ``gru_viz.open_in_app(obj)`` prints the Explorer's address.

It writes ``obj`` into the hand-over folder (``gru_viz.io.opened``: a random name, readable by
its owner only), starts ``streamlit run app.py`` on 127.0.0.1 with that folder (once per
Python process; it stops when the process exits), or uses the server at ``url=``, and returns
the address ``…/Explorer?open=<token>``, which opens the Explorer with that model chosen.
``launch=False`` (or ``GRUVIZ_LAUNCH=0`` in the environment) starts nothing and only prints the
address and the command to start a server (for CI, or a machine where the app runs elsewhere).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gru_viz.core.errors import GRUVizError
from gru_viz.core.untrusted import html_text, terminal_text
from gru_viz.io import opened

APP = Path(__file__).resolve().parents[1] / "app.py"  # in a checkout or an editable install
PAGE = "Explorer"
START_TIMEOUT = 90.0  # seconds for a new server to answer its health check


@dataclass(frozen=True)
class AppLink:
    """Where the app shows the handed-over model; a link in a notebook, text elsewhere."""

    url: str
    file: Path
    note: str = ""

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return terminal_text(f"gru-viz app: {self.url}\n  file: {self.file}"
                             + (f"\n  {self.note}" if self.note else ""))

    def _repr_html_(self) -> str:
        url = html_text(self.url)
        return (f'<div>gru-viz app: <a href="{url}" target="_blank" rel="noopener">{url}</a>'
                + (f"<br><small>{html_text(self.note)}</small>" if self.note else "")
                + "</div>")


# --- the file handed over ----------------------------------------------------------------------

def _label(obj: Any) -> str:
    desc = getattr(obj, "description", None)
    name = desc.get("file", "") if isinstance(desc, dict) else ""
    return Path(str(name)).name.split(".")[0] or type(obj).__name__.lower()


def _result_text(res: Any) -> str | None:
    """A Result's input as the Explorer's text box takes it: the text of a vocabulary of
    characters, else None (the Explorer then offers its default input)."""
    vocab = res.checkpoint.vocabulary
    if res.tokens is None or vocab is None or not all(len(s) == 1 for s in vocab.symbols):
        return None
    return "".join(res.tokens)


def write_handover(obj: Any, folder: Path, label: str | None = None) -> tuple[str, Path]:
    """Write ``obj`` into ``folder`` under a fresh random name: (token, path).

    A path is copied (it must be a file the app reads); a ``Checkpoint``, a ``Result`` (its
    checkpoint, and its text input beside it) or a ``GRUModel`` is saved in gru-viz's own
    checkpoint format; anything with a
    ``save(path)`` method (a ``Recording``) saves itself as a capture (``.gruviz.npz``).
    """
    from gru_viz.api import Result
    from gru_viz.core.model import GRUModel
    from gru_viz.core.trace import LayerTrace, Trace
    from gru_viz.io.checkpoint import Checkpoint

    folder = opened.prepare(folder)
    text = None
    if isinstance(obj, Result):
        text = _result_text(obj)
        obj = obj.checkpoint
    if isinstance(obj, (str, os.PathLike)):
        src = Path(obj).expanduser()
        if not src.is_file():
            raise GRUVizError(f"No file {str(src)!r} to open in the app.")
        ext = next((e for e in (".gruviz.npz",) + opened.ACCEPTED if src.name.endswith(e)), "")
        if not ext:
            raise GRUVizError(f"{src.name}: the app opens {', '.join(opened.ACCEPTED)} files.")
        token, name = opened.new_name(label or src.name[: -len(ext)], ext)
        shutil.copyfile(src, folder / name)
    elif isinstance(obj, (Checkpoint, GRUModel)):
        from gru_viz.io.savefile import save_checkpoint

        token, name = opened.new_name(label or _label(obj), ".pt")
        if isinstance(obj, GRUModel):
            save_checkpoint(folder / name, obj)
        else:
            desc = obj.description.get("description")
            save_checkpoint(folder / name, obj.model, embedding=obj.embedding,
                            head_weight=obj.head_weight, head_bias=obj.head_bias,
                            vocabulary=obj.vocabulary,
                            description=desc if isinstance(desc, dict) else None)
    elif isinstance(obj, (Trace, LayerTrace)):
        raise GRUVizError("A trace holds no weights, so the app cannot rerun it: open the "
                          "Result, Recording, Checkpoint or GRUModel it came from.")
    elif callable(getattr(obj, "save", None)):  # a Recording: its capture file
        token, name = opened.new_name(label or "recording", ".gruviz.npz")
        obj.save(folder / name)
    else:
        raise GRUVizError(f"Cannot open a {type(obj).__name__} in the app: give a Recording, "
                          "Result, Checkpoint, GRUModel or a checkpoint file's path.")
    os.chmod(folder / name, 0o600)
    if text is not None:  # the Explorer starts with the Result's own input
        side = folder / f"{token}{opened.INPUT}"
        side.write_text(text, encoding="utf-8")
        os.chmod(side, 0o600)
    return token, folder / name


# --- the server ---------------------------------------------------------------------------------

_server: dict[str, Any] = {}  # the one this process started: proc, port, folder, log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process (Linux): end it when the notebook's kernel dies, even when the
    kernel is killed and its exit handlers never run."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def stop_app() -> None:
    """Stop the server ``open_in_app`` started (it also stops when Python exits)."""
    proc = _server.pop("proc", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    log = _server.pop("log", None)
    if log is not None:
        log.close()
    _server.clear()


def _start(folder: Path, port: int | None, timeout: float) -> int:
    if _server.get("proc") is not None and _server["proc"].poll() is None:
        if _server["folder"] == folder and port in (None, _server["port"]):
            return _server["port"]
        stop_app()
    if not APP.is_file():
        raise GRUVizError(f"No app.py beside the gru_viz package ({APP.parent}): run "
                          f"`GRUVIZ_OPEN_DIR={folder} streamlit run app.py` in a gru-viz "
                          "checkout and pass its address as url=.")
    port = port or _free_port()
    log = open(folder / "server.log", "ab")  # noqa: SIM115 (kept open while it runs)
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    proc = subprocess.Popen(cmd, cwd=APP.parent, env=os.environ | {opened.ENV: str(folder)},
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    _server.update(proc=proc, port=port, folder=folder, log=log)
    if not _server.get("atexit"):
        atexit.register(stop_app)
        _server["atexit"] = True
    deadline = time.monotonic() + timeout
    while not _healthy(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_app()
            tail = (folder / "server.log").read_text(errors="replace")[-600:]
            raise GRUVizError(f"The app did not start on port {port}; its log ends:\n{tail}")
        time.sleep(0.3)
    return port


def open_in_app(obj: Any, *, launch: bool = True, url: str | None = None,
                port: int | None = None, folder: str | os.PathLike | None = None,
                label: str | None = None, timeout: float = START_TIMEOUT) -> AppLink:
    """Open ``obj`` in the app's Explorer and print the address.

    obj     a ``Recording`` (its capture file), a ``Result`` or ``Checkpoint``, a ``GRUModel``,
            or the path of a checkpoint file
    launch  start ``streamlit run app.py`` on 127.0.0.1 (once per Python process, reused by
            later calls) and wait until it answers; ``False`` (or ``GRUVIZ_LAUNCH=0``) starts
            nothing and prints the address a server on ``port`` (default 8501) would have, and
            how to start it
    url     the address of a server already running, started with ``GRUVIZ_OPEN_DIR`` set to
            the hand-over folder; nothing is started
    folder  the hand-over folder (default ``$GRUVIZ_OPEN_DIR``, else ~/.cache/gru-viz/open)

    Returns an ``AppLink`` (a link in a notebook; ``str(link)`` is the address). No browser is
    opened: click the link.
    """
    folder = opened.prepare(Path(folder or os.environ.get(opened.ENV) or
                                 opened.default_folder()))
    token, path = write_handover(obj, folder, label)
    note = ""
    if url is not None:
        base = url.rstrip("/")
        note = f"The server at {base} must have been started with {opened.ENV}={folder}."
    elif launch and os.environ.get("GRUVIZ_LAUNCH", "1") != "0":
        base = f"http://127.0.0.1:{_start(folder, port, timeout)}"
    else:
        base = f"http://127.0.0.1:{port or 8501}"
        note = (f"No server started (launch=False). Start one with: {opened.ENV}={folder} "
                f"streamlit run {APP} --server.port {port or 8501}")
    link = AppLink(f"{base}/{PAGE}?{opened.PARAM}={token}", path, note)
    print(f"gru-viz: {link.url}" + (f"\n  {note}" if note else ""))
    return link
