"""Write checkpoints: our self-describing format, and plain ``nn.GRU`` state dicts.

Both are torch.save of plain containers (dicts, lists, strings, numbers, tensors) only, so that
``torch.load(..., weights_only=True)`` and therefore gru-viz's own loader read them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from gru_viz.core.errors import CheckpointError
from gru_viz.core.model import GRUModel
from gru_viz.io.checkpoint import FORMAT_NAME, FORMAT_VERSION
from gru_viz.io.inputs import Vocabulary

Dest = str | os.PathLike | BinaryIO


def _plain(d: Mapping[str, Any] | None) -> dict[str, Any]:
    """A JSON round trip: only dicts, lists, strings and numbers remain (str subclasses such as
    torch.__version__ and NumPy scalars would need code to unpickle)."""
    return json.loads(json.dumps(dict(d or {}),
                                 default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def gru_state_dict(model: GRUModel, bias: bool = True) -> dict[str, Any]:
    """``torch.nn.GRU`` keys -> tensors, accepted by ``nn.GRU(...).load_state_dict``.

    With ``bias=False`` (for a module built with ``bias=False``) the bias keys are left out;
    that is refused when the biases are not all zero, since they would be lost.
    """
    import torch

    sd = model.state_dict()
    if not bias:
        kept = [k for k, a in sd.items() if k.startswith("bias") and np.any(a)]
        if kept:
            raise CheckpointError(f"{kept[0]} is not zero, so these weights need a GRU with "
                                  "bias=True; save with bias=True.")
        sd = {k: a for k, a in sd.items() if not k.startswith("bias")}
    return {k: torch.from_numpy(np.array(a)) for k, a in sd.items()}


def save_state_dict(model: GRUModel, dest: Dest, bias: bool = True) -> None:
    """Edited weights back to a file ``nn.GRU.load_state_dict(torch.load(dest))`` accepts."""
    import torch

    torch.save(gru_state_dict(model, bias), dest)


def save_checkpoint(dest: Dest, model: GRUModel, *, embedding: np.ndarray | None = None,
                    head_weight: np.ndarray | None = None, head_bias: np.ndarray | None = None,
                    vocabulary: Vocabulary | None = None,
                    description: Mapping[str, Any] | None = None,
                    training: Mapping[str, Any] | None = None,
                    metrics: Mapping[str, Any] | None = None) -> None:
    """Our self-describing file: format version, model arguments, state dict, vocabulary,
    description, training recipe and metrics (all JSON-like except the tensors).

    The state dict holds plain ``nn.GRU`` keys plus ``embedding.weight``, ``head.weight`` and
    ``head.bias`` when given, so ``nn.GRU.load_state_dict`` takes its GRU keys as they are.
    """
    import torch

    sd = gru_state_dict(model)
    extra = {"embedding.weight": embedding, "head.weight": head_weight, "head.bias": head_bias}
    sd |= {k: torch.from_numpy(np.array(a)) for k, a in extra.items() if a is not None}
    torch.save({
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model_args": {
            "input_size": model.input_size, "hidden_size": model.hidden_size,
            "num_layers": model.num_layers, "bidirectional": model.bidirectional,
            "reset_after": model.reset_after,
            "vocab_size": None if embedding is None else int(np.shape(embedding)[0]),
            "output_size": None if head_weight is None else int(np.shape(head_weight)[0]),
        },
        "state_dict": sd,
        "vocabulary": None if vocabulary is None else list(vocabulary.symbols),
        "description": _plain(description),
        "training": _plain(training),
        "metrics": _plain(metrics),
    }, dest)
