"""The two notations the app speaks, so that every label says which update gate it shows.

PyTorch: z is the share of the OLD state kept, h = (1 − z) ⊙ n + z ⊙ h_prev.
Course (Γ_u, Γ_r, c̃, c): Γ_u = 1 − z is the share of the NEW candidate written,
c<t> = Γ_u ⊙ c̃<t> + (1 − Γ_u) ⊙ c<t-1>.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Notation:
    key: str
    name: str
    update: str  # symbol of the update gate
    reset: str
    candidate: str
    state: str
    update_meaning: str
    # plain-text (for Plotly) and LaTeX symbols
    update_tex: str
    reset_tex: str
    candidate_tex: str
    state_tex: str

    def update_values(self, z: np.ndarray) -> np.ndarray:
        """The update gate as this notation defines it, from PyTorch's z."""
        return 1 - z if self.key == "course" else z

    def values(self, field: str, a: np.ndarray) -> np.ndarray:
        """A trace field's values as this notation defines them (only z differs)."""
        return self.update_values(a) if field == "z" else a

    def label(self, field: str) -> str:
        """Axis/legend label for a trace field: 'z', 'r', 'n' or 'h'."""
        return {
            "z": f"update gate {self.update} ({self.update_meaning})",
            "r": f"reset gate {self.reset}",
            "n": f"candidate {self.candidate}",
            "h": f"hidden state {self.state}",
        }[field]

    def symbol(self, field: str) -> str:
        return {"z": self.update, "r": self.reset, "n": self.candidate, "h": self.state}[field]

    def kept(self, u: str | None = None, minus: str = "1 − ") -> str:
        """The share of the old state kept, written with the update gate's symbol ``u`` (default
        this notation's; pass a TeX one with ``minus="1 - "``): z, or 1 − Γu in the course's."""
        u = self.update if u is None else u
        return minus + u if self.key == "course" else u

    def written(self, u: str | None = None, minus: str = "1 − ") -> str:
        """The share of the new candidate written: 1 − z, or Γu in the course's notation."""
        u = self.update if u is None else u
        return u if self.key == "course" else minus + u


def grouped(expr: str) -> str:
    """``expr`` in parentheses when it is more than one symbol (to multiply it): (1 − z)."""
    return f"({expr})" if " " in expr else expr


PYTORCH = Notation("pytorch", "PyTorch (z, r, n, h)", "z", "r", "n", "h",
                   "share of the old state kept", "z", "r", "n", "h")
COURSE = Notation("course", "Course (Γu, Γr, c̃, c)", "Γu", "Γr", "c̃", "c",
                  "share of the new candidate written", r"\Gamma_u", r"\Gamma_r", r"\tilde{c}", "c")
NOTATIONS = {n.key: n for n in (COURSE, PYTORCH)}
