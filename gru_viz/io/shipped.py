"""Where the shipped example models are: one definition for the presets, training and the UI.

In a checkout they sit in the top-level ``assets/`` folder (beside ``app.py``); an installed
wheel carries the same files as the package data ``gru_viz.assets``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # gru_viz/


def _assets_folder() -> Path:
    installed = _PACKAGE / "assets"  # pip install . (package data)
    return installed if installed.is_dir() else _PACKAGE.parent / "assets"  # a checkout


ASSETS = _assets_folder()
