"""What a corpus job runs: a GRU with what feeds it (embedding or one-hot) and reads it
(head), and the digest that ties a statistics file to its weights."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from gru_viz.core.model import GRUModel
from gru_viz.io.inputs import Vocabulary


@dataclass(frozen=True, eq=False)
class Subject:
    """A GRU with its embedding (or one-hot input), optional linear head and vocabulary."""

    model: GRUModel
    embedding: np.ndarray | None = None
    head_weight: np.ndarray | None = None
    head_bias: np.ndarray | None = None
    vocabulary: Vocabulary | None = None

    @property
    def kind(self) -> str:
        """"ids" when it reads symbols, else "vectors"."""
        return "ids" if self.embedding is not None or self.vocabulary is not None else "vectors"

    @property
    def symbols(self) -> int | None:
        if self.kind != "ids":
            return None
        return self.embedding.shape[0] if self.embedding is not None else self.model.input_size

    @property
    def scores_symbols(self) -> bool:
        """A head that scores the next symbol (not for a bidirectional GRU: it saw it)."""
        return self.head_weight is not None and self.symbols is not None \
            and self.head_weight.shape[0] == self.symbols and not self.model.bidirectional

    def symbol_names(self) -> list[str] | None:
        if self.symbols is None:
            return None
        if self.vocabulary is not None:
            return list(self.vocabulary.symbols)
        return [str(i) for i in range(self.symbols)]


def subject_of(source) -> Subject:
    """A Subject from a Checkpoint, a GRUModel or a Subject."""
    if isinstance(source, Subject):
        return source
    if isinstance(source, GRUModel):
        return Subject(source)
    return Subject(source.model, source.embedding, source.head_weight, source.head_bias,
                   source.vocabulary)


def model_digest(subject) -> str:
    """sha256 of every weight that shapes the statistics (GRU, embedding, head, reset)."""
    s = subject_of(subject)
    h = hashlib.sha256(f"reset_after={s.model.reset_after}".encode())
    parts = sorted(s.model.state_dict().items())
    parts += [(n, a) for n, a in (("embedding", s.embedding), ("head.weight", s.head_weight),
                                  ("head.bias", s.head_bias)) if a is not None]
    for name, a in parts:
        a = np.ascontiguousarray(a)
        h.update(f"|{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    if s.vocabulary is not None:
        h.update(json.dumps(s.vocabulary.symbols).encode())
    return h.hexdigest()


def cell_prefix(layer: int, reverse: bool) -> str:
    return f"l{layer}" + ("_reverse" if reverse else "")
