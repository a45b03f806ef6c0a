"""Weights of one GRU layer in one direction, in PyTorch's names and in the course notation.

PyTorch fuses the three gates row-wise in the order r | z | n:
``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` and ``bias_hh`` (3H,).

``reset_after`` says where the reset gate acts inside the candidate:
- True  (PyTorch, cuDNN, Keras ``reset_after=True``): n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
- False (Cho et al. 2014, Keras ``reset_after=False``, ONNX default, the course notes):
  n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from gru_viz.core.errors import WeightsError

GATES = ("r", "z", "n")
MATRICES = tuple(f"W_i{g}" for g in GATES) + tuple(f"W_h{g}" for g in GATES)
BIASES = tuple(f"b_i{g}" for g in GATES) + tuple(f"b_h{g}" for g in GATES)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _check(name: str, a: np.ndarray, shape: tuple[int, ...]) -> None:
    if a.shape != shape:
        raise WeightsError(f"{name} has shape {a.shape}, expected {shape}.")


@dataclass(frozen=True, eq=False)
class GRUWeights:
    """One layer and direction: W_i* (H, I), W_h* (H, H), b_* (H,). Arrays are read-only copies."""

    W_ir: np.ndarray
    W_iz: np.ndarray
    W_in: np.ndarray
    W_hr: np.ndarray
    W_hz: np.ndarray
    W_hn: np.ndarray
    b_ir: np.ndarray
    b_iz: np.ndarray
    b_in: np.ndarray
    b_hr: np.ndarray
    b_hz: np.ndarray
    b_hn: np.ndarray
    reset_after: bool = True

    def __post_init__(self) -> None:
        W_ir = np.asarray(self.W_ir)
        if W_ir.ndim != 2:
            raise WeightsError(f"W_ir must be a matrix (H, I), got shape {W_ir.shape}.")
        H, I = W_ir.shape
        dtype = np.result_type(*(np.asarray(getattr(self, f)) for f in MATRICES + BIASES))
        if np.issubdtype(dtype, np.complexfloating):
            raise WeightsError("The weights are complex numbers; a GRU's weights are real.")
        if not np.issubdtype(dtype, np.floating):
            dtype = np.float64
        for name in MATRICES + BIASES:
            a = np.asarray(getattr(self, name), dtype=dtype)
            shape = (H,) if name.startswith("b") else (H, I) if name[2] == "i" else (H, H)
            _check(name, a, shape)
            object.__setattr__(self, name, _frozen(a))
        object.__setattr__(self, "reset_after", bool(self.reset_after))

    @property
    def input_size(self) -> int:
        return self.W_ir.shape[1]

    @property
    def hidden_size(self) -> int:
        return self.W_ir.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.W_ir.dtype

    @classmethod
    def from_fused(
        cls,
        weight_ih: np.ndarray,
        weight_hh: np.ndarray,
        bias_ih: np.ndarray | None = None,
        bias_hh: np.ndarray | None = None,
        reset_after: bool = True,
    ) -> GRUWeights:
        """From PyTorch's fused tensors (rows r | z | n); missing biases are zeros (bias=False)."""
        w_ih, w_hh = np.asarray(weight_ih), np.asarray(weight_hh)
        if w_hh.ndim != 2 or w_hh.shape[0] != 3 * w_hh.shape[1]:
            raise WeightsError(f"weight_hh has shape {w_hh.shape}, expected (3H, H).")
        H = w_hh.shape[1]
        if w_ih.ndim != 2 or w_ih.shape[0] != 3 * H:
            raise WeightsError(f"weight_ih has shape {w_ih.shape}, expected ({3 * H}, I).")
        zeros = np.zeros(3 * H, dtype=w_hh.dtype)
        b_ih = zeros if bias_ih is None else np.asarray(bias_ih)
        b_hh = zeros if bias_hh is None else np.asarray(bias_hh)
        _check("bias_ih", b_ih, (3 * H,))
        _check("bias_hh", b_hh, (3 * H,))
        parts = {}
        for k, g in enumerate(GATES):
            rows = slice(k * H, (k + 1) * H)
            parts |= {f"W_i{g}": w_ih[rows], f"W_h{g}": w_hh[rows],
                      f"b_i{g}": b_ih[rows], f"b_h{g}": b_hh[rows]}
        return cls(**parts, reset_after=reset_after)

    def fused(self) -> dict[str, np.ndarray]:
        """PyTorch's fused tensors: weight_ih (3H, I), weight_hh (3H, H), bias_ih, bias_hh (3H,)."""
        return {
            "weight_ih": np.concatenate([self.W_ir, self.W_iz, self.W_in]),
            "weight_hh": np.concatenate([self.W_hr, self.W_hz, self.W_hn]),
            "bias_ih": np.concatenate([self.b_ir, self.b_iz, self.b_in]),
            "bias_hh": np.concatenate([self.b_hr, self.b_hz, self.b_hn]),
        }

    def replace(self, **changes: np.ndarray | bool) -> GRUWeights:
        """A copy with some fields replaced (e.g. an edited matrix)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise WeightsError(f"Unknown weight names: {sorted(unknown)}.")
        return GRUWeights(**(values | changes))

    def astype(self, dtype: np.dtype | type) -> GRUWeights:
        return GRUWeights(**{n: getattr(self, n).astype(dtype) for n in MATRICES + BIASES},
                          reset_after=self.reset_after)

    def non_finite(self) -> list[str]:
        """Names of the fields holding NaN or inf."""
        return [n for n in MATRICES + BIASES if not np.isfinite(getattr(self, n)).all()]

    def equals(self, other: GRUWeights) -> bool:
        return self.reset_after == other.reset_after and all(
            np.array_equal(getattr(self, n), getattr(other, n)) for n in MATRICES + BIASES)

    def to_course(self) -> CourseWeights:
        """The same layer in the course notation (see CourseWeights)."""
        def cat(W_h: np.ndarray, W_i: np.ndarray) -> np.ndarray:
            return np.concatenate([W_h, W_i], axis=1)

        b_cc = self.b_hn if self.reset_after else np.zeros_like(self.b_hn)
        b_c = self.b_in if self.reset_after else self.b_in + self.b_hn
        return CourseWeights(
            W_u=-cat(self.W_hz, self.W_iz), b_u=-(self.b_iz + self.b_hz),
            W_r=cat(self.W_hr, self.W_ir), b_r=self.b_ir + self.b_hr,
            W_c=cat(self.W_hn, self.W_in), b_c=b_c, b_cc=b_cc,
            reset_after=self.reset_after,
        )


@dataclass(frozen=True, eq=False)
class CourseWeights:
    """The course notation: Γ_u = σ(W_u[c<t-1>, x<t>] + b_u), Γ_r = σ(W_r[c<t-1>, x<t>] + b_r).

    Matrices are (H, H + I) with the previous state's columns first. Γ_u is the share of the
    new candidate written (Γ_u = 1 − z), so W_u and b_u are the negated PyTorch z weights.
    Candidate, reset before (the course's form): c̃ = tanh(W_c[Γ_r ⊙ c<t-1>, x<t>] + b_c).
    Reset after (PyTorch's form) keeps the recurrent bias apart, because Γ_r scales it:
    c̃ = tanh(W_cx x + b_c + Γ_r ⊙ (W_cc c<t-1> + b_cc)); b_cc is zero for reset before.
    New state: c<t> = Γ_u ⊙ c̃<t> + (1 − Γ_u) ⊙ c<t-1>.
    """

    W_u: np.ndarray
    b_u: np.ndarray
    W_r: np.ndarray
    b_r: np.ndarray
    W_c: np.ndarray
    b_c: np.ndarray
    b_cc: np.ndarray
    reset_after: bool = False

    def __post_init__(self) -> None:
        W_u = np.asarray(self.W_u)
        if W_u.ndim != 2 or W_u.shape[1] <= W_u.shape[0]:
            raise WeightsError(f"W_u has shape {W_u.shape}, expected (H, H + I) with I ≥ 1.")
        H, HI = W_u.shape
        for name in ("W_u", "W_r", "W_c", "b_u", "b_r", "b_c", "b_cc"):
            a = np.asarray(getattr(self, name))
            _check(name, a, (H, HI) if name.startswith("W") else (H,))
            object.__setattr__(self, name, _frozen(a))
        if not self.reset_after and np.any(self.b_cc):
            raise WeightsError("b_cc must be zero with reset before: add it to b_c instead.")

    def to_torch(self) -> GRUWeights:
        """PyTorch names; the input-side bias carries what the course notation sums."""
        H = self.W_u.shape[0]
        zero = np.zeros(H, dtype=self.b_u.dtype)
        return GRUWeights(
            W_ir=self.W_r[:, H:], W_hr=self.W_r[:, :H], b_ir=self.b_r, b_hr=zero,
            W_iz=-self.W_u[:, H:], W_hz=-self.W_u[:, :H], b_iz=-self.b_u, b_hz=zero,
            W_in=self.W_c[:, H:], W_hn=self.W_c[:, :H], b_in=self.b_c, b_hn=self.b_cc,
            reset_after=self.reset_after,
        )
