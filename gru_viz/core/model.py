"""A stack of GRU layers, each with one or two directions, as ``torch.nn.GRU`` arranges them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from gru_viz.core.errors import WeightsError
from gru_viz.core.weights import GRUWeights


def state_key(name: str, layer: int, reverse: bool) -> str:
    """``torch.nn.GRU``'s parameter name, e.g. ``weight_hh_l1_reverse``."""
    return f"{name}_l{layer}" + ("_reverse" if reverse else "")


@dataclass(frozen=True, eq=False)
class GRUModel:
    """``cells[k][d]``: layer k, direction d (0 forward, 1 reverse).

    ``reverse_only[k]`` marks a one-direction layer that reads the sequence backwards (ONNX
    ``direction="reverse"``, Keras ``go_backwards``); its records are indexed by input
    position like a bidirectional layer's reverse half. Empty means no such layer.
    """

    cells: tuple[tuple[GRUWeights, ...], ...]
    reverse_only: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        cells = tuple(tuple(layer) for layer in self.cells)
        object.__setattr__(self, "cells", cells)
        if not cells or not cells[0]:
            raise WeightsError("A GRU needs at least one layer.")
        flags = tuple(bool(f) for f in self.reverse_only)
        if flags and len(flags) != len(cells):
            raise WeightsError(f"reverse_only has {len(flags)} flags for {len(cells)} layers.")
        if any(f and len(layer) != 1 for f, layer in zip(flags, cells)):
            raise WeightsError("reverse_only marks one-direction layers only.")
        object.__setattr__(self, "reverse_only", flags if any(flags) else ())
        D = len(cells[0])
        if D not in (1, 2):
            raise WeightsError(f"A layer has 1 or 2 directions, got {D}.")
        for k, layer in enumerate(cells):
            for d, w in enumerate(layer):
                self._check_cell(k, d, len(layer), w)

    def _check_cell(self, k: int, d: int, directions: int, w: GRUWeights) -> None:
        """Cell (k, d) fits layer 0: its directions, sizes and reset placement."""
        first = self.cells[0][0]
        D, H = len(self.cells[0]), first.hidden_size
        where = f"layer {k}" + (" reverse" if d else "")
        expected_in = self.input_size if k == 0 else D * H
        if directions != D:
            raise WeightsError(f"Layer {k} has {directions} directions, layer 0 has {D}.")
        if w.hidden_size != H:
            raise WeightsError(f"{where}: hidden size {w.hidden_size}, expected {H}.")
        if w.input_size != expected_in:
            raise WeightsError(f"{where}: input size {w.input_size}, expected {expected_in}.")
        if w.reset_after != first.reset_after:
            raise WeightsError(f"{where}: reset placement differs from layer 0.")

    @property
    def input_size(self) -> int:
        return self.cells[0][0].input_size

    @property
    def hidden_size(self) -> int:
        return self.cells[0][0].hidden_size

    @property
    def num_layers(self) -> int:
        return len(self.cells)

    @property
    def num_directions(self) -> int:
        return len(self.cells[0])

    @property
    def bidirectional(self) -> bool:
        return self.num_directions == 2

    def reads_backwards(self, layer: int, direction: int) -> bool:
        """Whether layer ``layer``, direction ``direction`` reads the sequence from the end."""
        return direction == 1 or (bool(self.reverse_only) and self.reverse_only[layer])

    @property
    def reset_after(self) -> bool:
        return self.cells[0][0].reset_after

    @property
    def dtype(self) -> np.dtype:
        return self.cells[0][0].dtype

    def describe(self) -> str:
        dirs = "bidirectional" if self.bidirectional else "unidirectional"
        if self.reverse_only:
            dirs += ", reverse-only layer(s) " + ", ".join(
                str(k) for k, f in enumerate(self.reverse_only) if f)
        reset = "reset after (PyTorch)" if self.reset_after else "reset before (Cho et al.)"
        return (f"GRU: input size {self.input_size}, hidden size {self.hidden_size}, "
                f"{self.num_layers} layer(s), {dirs}, {reset}")

    def map(self, fn) -> GRUModel:  # fn: GRUWeights -> GRUWeights
        return GRUModel(tuple(tuple(fn(w) for w in layer) for layer in self.cells),
                        self.reverse_only)

    def astype(self, dtype: np.dtype | type) -> GRUModel:
        return self.map(lambda w: w.astype(dtype))

    def with_reset_after(self, reset_after: bool) -> GRUModel:
        """The same numbers under the other reset placement (a different model)."""
        return self.map(lambda w: w.replace(reset_after=reset_after))

    def replace_cell(self, layer: int, direction: int, weights: GRUWeights) -> GRUModel:
        cells = [list(c) for c in self.cells]
        cells[layer][direction] = weights
        return GRUModel(tuple(tuple(c) for c in cells), self.reverse_only)

    def non_finite(self) -> list[str]:
        """``weight_hh_l0``-style names of the fields holding NaN or inf."""
        return [f"layer {k}{' reverse' if d else ''}: {name}"
                for k, layer in enumerate(self.cells) for d, w in enumerate(layer)
                for name in w.non_finite()]

    def equals(self, other: GRUModel) -> bool:
        same_shape = (self.num_layers, self.num_directions, self.reverse_only) == \
            (other.num_layers, other.num_directions, other.reverse_only)
        return same_shape and all(a.equals(b) for la, lb in zip(self.cells, other.cells)
                                  for a, b in zip(la, lb))

    def state_dict(self) -> dict[str, np.ndarray]:
        """``torch.nn.GRU`` keys (``weight_ih_l0``, ..., ``bias_hh_l1_reverse``) as NumPy arrays."""
        out = {}
        for k, layer in enumerate(self.cells):
            for d, w in enumerate(layer):
                for name, a in w.fused().items():
                    out[state_key(name, k, d == 1)] = a
        return out

    @classmethod
    def from_state_dict(cls, sd: Mapping[str, np.ndarray], reset_after: bool = True) -> GRUModel:
        """From ``torch.nn.GRU`` keys; biases may be absent (``bias=False``)."""
        sd = {k: np.asarray(v) for k, v in sd.items()}
        layers = []
        while state_key("weight_ih", len(layers), False) in sd:
            k = len(layers)
            dirs = [False, True] if state_key("weight_ih", k, True) in sd else [False]
            layers.append(tuple(
                GRUWeights.from_fused(*(sd.get(state_key(n, k, rev)) for n in
                                        ("weight_ih", "weight_hh", "bias_ih", "bias_hh")),
                                      reset_after=reset_after)
                for rev in dirs))
        if not layers:
            raise WeightsError(f"No 'weight_ih_l0' among the keys {sorted(sd)[:8]}.")
        return cls(tuple(layers))

    @classmethod
    def random(cls, input_size: int, hidden_size: int, num_layers: int = 1,
               bidirectional: bool = False, bias: bool = True, reset_after: bool = True,
               seed: int = 0, dtype: type = np.float64) -> GRUModel:
        """Weights drawn like PyTorch's default: uniform in ±1/sqrt(H), from a NumPy seed."""
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(hidden_size)
        D = 2 if bidirectional else 1

        def u(*shape: int) -> np.ndarray:
            return rng.uniform(-bound, bound, shape).astype(dtype)

        layers = []
        for k in range(num_layers):
            I = input_size if k == 0 else D * hidden_size
            layers.append(tuple(
                GRUWeights.from_fused(u(3 * hidden_size, I), u(3 * hidden_size, hidden_size),
                                      u(3 * hidden_size) if bias else None,
                                      u(3 * hidden_size) if bias else None, reset_after)
                for _ in range(D)))
        return cls(tuple(layers))
