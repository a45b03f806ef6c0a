"""Helpers several test modules share (imported by them and by conftest)."""

import io

import torch


def saved(obj) -> bytes:
    """``torch.save(obj)`` to bytes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()
