"""The words of the Phase portrait's hand-set 2-unit model, in either notation, and the help
of its bifurcation slider computed for the model on screen (not the textbook value 1)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gru_viz.analysis.dynamics import count_changes
from gru_viz.core.notation import Notation


def slider_labels(nt: Notation) -> dict[str, str]:
    """Labels of the hand-set model's sliders (keys as on the page): PyTorch parameter names,
    or the course's (W_cc: the previous state's block of W_c; b_u = −b_z, Γu = σ(b_u))."""
    if nt.key == "course":
        return {"w00": "W_cc[0,0]: c₀⟨t−1⟩ → unit 0's own candidate c̃₀",
                "w01": "W_cc[0,1]: c₁⟨t−1⟩ → unit 0's candidate c̃₀",
                "w10": "W_cc[1,0]: c₀⟨t−1⟩ → unit 1's candidate c̃₁",
                "w11": "W_cc[1,1]: c₁⟨t−1⟩ → its own candidate c̃₁",
                "b0": "candidate bias b_c[0]", "b1": "candidate bias b_c[1]",
                "bz": "update gate bias b_u (Γu = σ(b_u))"}
    return {"w00": "W_hn[0,0]: unit 0 → its own candidate",
            "w01": "W_hn[0,1]: unit 1 → unit 0's candidate",
            "w10": "W_hn[1,0]: unit 0 → unit 1's candidate",
            "w11": "W_hn[1,1]: unit 1 → its own candidate",
            "b0": "candidate bias b_in[0]", "b1": "candidate bias b_in[1]",
            "bz": "update gate bias b_z (z = σ(b_z))"}


def update_bias_help(nt: Notation) -> str:
    if nt.key == "course":
        return ("Larger: Γu nearer 1, each step writes more of the candidate (moves further). "
                "The fixed points stay where they are; only their eigenvalues move.")
    return ("Larger: z nearer 1, each step keeps more of the old state. The fixed points stay "
            "where they are; only their eigenvalues move.")


def bifurcation_help(nt: Notation, W_hn: Sequence[Sequence[float]], b_n: Sequence[float],
                     xbar: Sequence[float], lo: float = -3.0, hi: float = 3.0,
                     step: float = 0.05) -> str:
    """Where, for the other sliders and the constant input as set, the number of fixed points
    changes as the self-weight of unit 0 moves over the slider's range [lo, hi]."""
    name = "W_cc[0,0]" if nt.key == "course" else "W_hn[0,0]"
    changes = count_changes(W_hn, b_n, xbar, lo, hi)
    if not changes:
        from gru_viz.analysis.dynamics import fixed_point_counts
        n = int(fixed_point_counts(W_hn, b_n, xbar, np.array([lo]))[0])
        return (f"With the other sliders and x̄ as set, the model has {n} fixed point"
                f"{'s' * (n != 1)} for every {name} from {lo:g} to {hi:g}.")
    said = []
    for w, below, above in changes:
        first = np.ceil(w / step - 1e-9) * step  # the first slider position past it
        said.append(f"{below} fixed point{'s' * (below != 1)} become{'s' * (below == 1)} "
                    f"{above} as {name} crosses {w:.2f} (slider {first:.2f})")
    return ("With the other sliders and x̄ as set, " + "; ".join(said) + ". With no bias and no "
            "coupling the threshold would be 1 (the slope of tanh at 0); a bias moves it.")
