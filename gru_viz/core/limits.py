"""Limits a server operator sets through environment variables, applied where requests come in.

They keep one user's huge input or model from exhausting a shared server's memory. The loader,
the app's pages and the command line read them (``server_limits()``) and pass them on; the
engine itself reads no environment: ``run(model, x, limits=...)`` checks only the limits it is
given, and a notebook's ``run(model, x)`` runs what it is asked. Defaults suit a classroom
server; raise them for a research workstation:

    GRUVIZ_MAX_UPLOAD_MB   largest checkpoint or data file accepted        (default 200)
    GRUVIZ_MAX_STEPS       longest sequence run, in timesteps               (default 20000)
    GRUVIZ_MAX_HIDDEN      largest hidden size                              (default 2048)
    GRUVIZ_MAX_LAYERS      most stacked layers                              (default 8)
    GRUVIZ_MAX_TRACE_MB    largest recorded trace of one run, in memory     (default 1024)
    GRUVIZ_MAX_TENSORS     most tensors in one model file                   (default 10000)
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from gru_viz.core.errors import GRUVizError, InputError, WeightsError

if TYPE_CHECKING:
    from gru_viz.core.model import GRUModel


@dataclass(frozen=True)
class Limits:
    max_upload_mb: int = 200
    max_steps: int = 20000
    max_hidden: int = 2048
    max_layers: int = 8
    max_trace_mb: int = 1024
    max_tensors: int = 10000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        env = os.environ if env is None else env
        values = {}
        for f in fields(cls):
            name = "GRUVIZ_" + f.name.upper()
            if name in env:
                try:
                    values[f.name] = int(env[name])
                except ValueError:
                    raise GRUVizError(f"{name}={env[name]!r} is not a whole number.") from None
                if values[f.name] <= 0:
                    raise GRUVizError(f"{name} must be positive, got {values[f.name]}.")
        return cls(**values)


def server_limits() -> Limits:
    """The limits in force now (read from the environment on each call: cheap, and testable)."""
    return Limits.from_env()


def check_model(hidden_size: int, num_layers: int, lim: Limits | None = None) -> None:
    lim = lim or server_limits()
    if hidden_size > lim.max_hidden:
        raise WeightsError(f"Hidden size {hidden_size} is over this server's limit of "
                           f"{lim.max_hidden} (GRUVIZ_MAX_HIDDEN).")
    if num_layers > lim.max_layers:
        raise WeightsError(f"{num_layers} layers is over this server's limit of "
                           f"{lim.max_layers} (GRUVIZ_MAX_LAYERS).")


def check_run(steps: int, batch: int, hidden_size: int, cells: int, itemsize: int,
              lim: Limits | None = None) -> None:
    """Refuse a run whose length or recorded trace would exceed the limits."""
    lim = lim or server_limits()
    if steps > lim.max_steps:
        raise InputError(f"The input has {steps} steps; this server runs at most "
                         f"{lim.max_steps} (GRUVIZ_MAX_STEPS). Shorten the input.")
    # 8 recorded (T, B, H) arrays per layer and direction
    mb = 8 * steps * batch * hidden_size * cells * itemsize / 2**20
    if mb > lim.max_trace_mb:
        raise InputError(f"Recording this run would take {mb:.0f} MB, over this server's "
                         f"{lim.max_trace_mb} MB (GRUVIZ_MAX_TRACE_MB). Use fewer or shorter "
                         "sequences.")


def check_input(model: GRUModel, x_shape: tuple[int, ...], lim: Limits,
                itemsize: int = 8) -> None:
    """Refuse running ``model`` on an input of shape (T, I) or (B, T, I), batch-major, when
    the model or the recorded trace would exceed ``lim``."""
    check_model(model.hidden_size, model.num_layers, lim)
    steps, batch = x_shape[-2], x_shape[0] if len(x_shape) == 3 else 1
    check_run(steps, batch, model.hidden_size, model.num_layers * model.num_directions,
              itemsize, lim)


def check_count(count: int, label: str, what: str, most: int, variable: str,
                error: type[GRUVizError] = InputError, advice: str = "") -> None:
    """Refuse a file that holds more than ``most`` of ``what`` (tensors, pickle records),
    counted before they are built: each costs the reader time, whatever its size."""
    if count > most:
        raise error(f"{label} holds more than {most} {what} ({variable}): more than any "
                    "model's weights need." + (f" {advice}" if advice else ""))


def check_unpacked(infos: Iterable, label: str, max_mb: float,
                   error: type[GRUVizError] = InputError, advice: str = "") -> None:
    """Refuse a zip (its ``ZipFile.infolist()``) whose members unpack to more than ``max_mb``
    MB, before anything is inflated: a zip bomb. One rule for every zip read (checkpoints,
    .npz models, corpora)."""
    unpacked = sum(info.file_size for info in infos)
    if unpacked > max_mb * 2**20:
        raise error(f"{label} unpacks to {unpacked / 2**20:.0f} MB, over the limit of "
                    f"{max_mb:g} MB (GRUVIZ_MAX_UPLOAD_MB)." + (f" {advice}" if advice else ""))
