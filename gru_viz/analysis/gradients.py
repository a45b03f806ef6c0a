"""Gradients through time: which earlier inputs and states an output depends on.

The norm of ∂y/∂x_s and ∂y/∂h_s for every step s, where y is one unit of the output at step t
or the head's logit for one symbol (Distill's "connectivity" view, Madsen 2019). The GRU runs in
the torch engine's ops; a vanilla RNN and an LSTM of the same size read the same input, to show
vanishing gradients side by side, with their parameter counts and measured time per step.
torch is imported inside the functions: the NumPy core must import without it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from gru_viz.core import budget
from gru_viz.core.engine import as_h0, check_input_shape
from gru_viz.core.errors import InputError
from gru_viz.core.model import GRUModel

Head = tuple[np.ndarray, np.ndarray]  # readout weight (V, D·H) and bias (V,)
ARCHITECTURES = ("GRU", "vanilla RNN", "LSTM")


@dataclass(frozen=True)
class Target:
    """y = output[step, unit], or the head's logit for ``symbol`` at ``step``."""

    step: int
    unit: int | None = None
    symbol: int | None = None

    def describe(self) -> str:
        what = f"unit {self.unit} of h" if self.symbol is None else f"head output {self.symbol}"
        return f"{what} at step {self.step}"


@dataclass(frozen=True)
class Connectivity:
    """One architecture's gradient norms and costs."""

    kind: str  # one of ARCHITECTURES
    inputs: np.ndarray  # (T,) ‖∂y/∂x_s‖
    states: np.ndarray | None  # (L·D, T) ‖∂y/∂h_s‖ per layer and direction (GRU only)
    parameters: int  # recurrent layers only (no embedding or head)
    seconds_per_step: float | None = None  # torch's default CPU kernels (oneDNN where it has one)
    seconds_per_step_plain: float | None = None  # oneDNN off: ATen's own kernels for all three


def _check_target(target: Target, T: int, width: int, head: Head | None) -> None:
    if not 0 <= target.step < T:
        raise InputError(f"Step {target.step} is outside the sequence (0 to {T - 1}).")
    if (target.unit is None) == (target.symbol is None):
        raise InputError("Choose either a unit of the state or a symbol of the head.")
    if target.symbol is not None:
        if head is None:
            raise InputError("This model has no output head: choose a unit instead.")
        if not 0 <= target.symbol < len(head[0]):
            raise InputError(f"Symbol {target.symbol} is outside the head's 0 to "
                             f"{len(head[0]) - 1}.")
    elif not 0 <= target.unit < width:
        raise InputError(f"Unit {target.unit} is outside the output's 0 to {width - 1}.")


def _readout(output, target: Target, head: Head | None):
    """y from output (T, D·H), a torch tensor."""
    import torch

    o = output[target.step]
    if target.symbol is None:
        return o[target.unit]
    W, b = (torch.tensor(np.asarray(a), dtype=o.dtype) for a in head)  # copies: may be read-only
    return W[target.symbol] @ o + b[target.symbol]


def probed_run(model: GRUModel, x, h0=None):
    """The GRU in torch ops with a zero "probe" added to every state, so ∂y/∂probe = ∂y/∂h_s.

    x: (T, I) float64 tensor. Returns output (T, D·H) and probes (L·D, T, H), a leaf, probe
    [c, t] on the state at input position t. The run is ``torch_engine``'s (the wiring of
    ``engine.stack``), each layer adding its probes after every step.
    """
    import torch

    from gru_viz.core import torch_engine
    from gru_viz.core.engine import stack

    T, D, H = x.shape[0], model.num_directions, model.hidden_size
    h0 = torch.from_numpy(np.array(as_h0(model, h0, 1, np.float64))).to(x.dtype)
    probes = torch.zeros((model.num_layers * D, T, H), dtype=x.dtype, requires_grad=True)
    cells = iter(range(model.num_layers * D))  # stack runs them in this order: k·D + d

    def probed_layer(w, xt, hk):
        c = next(cells)
        at = (lambda s: T - 1 - s) if c % D else (lambda s: s)  # a reverse cell reads from the end
        return torch_engine.layer(w, xt, hk, lambda s, h: h + probes[c, at(s)])

    engine = replace(torch_engine.TORCH, layer=probed_layer)
    return stack(model, x[None], h0, engine, batched=False).output, probes


def gru_connectivity(model: GRUModel, x: np.ndarray, target: Target, h0=None,
                     head: Head | None = None) -> Connectivity:
    """Gradient norms of y w.r.t. every input and every state of every layer (float64)."""
    import torch

    check_input_shape(model, np.shape(x))
    if np.ndim(x) != 2:
        raise InputError("Gradients are computed for one sequence (T, I), not a batch.")
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    _check_target(target, len(xt), model.num_directions * model.hidden_size, head)
    output, probes = probed_run(model, xt, h0)
    gx, gh = torch.autograd.grad(_readout(output, target, head), [xt, probes])
    return Connectivity("GRU", gx.norm(dim=-1).numpy(), gh.norm(dim=-1).numpy(),
                        parameter_count(model))


def parameter_count(model: GRUModel) -> int:
    return sum(a.size for a in model.state_dict().values())


def baseline_module(kind: str, model: GRUModel, state: Mapping[str, np.ndarray] | None = None,
                    seed: int = 0, weight_scale: float = 1.0):
    """A torch.nn.GRU holding ``model``'s weights, or an RNN (tanh) / LSTM of the same size with
    torch's default random initialisation (seeded; weight matrices × ``weight_scale``, to match
    a GRU drawn with larger weights) or the given state dict, in float64."""
    import torch

    cls = {"GRU": torch.nn.GRU, "vanilla RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM}[kind]
    torch.manual_seed(seed)
    m = cls(model.input_size, model.hidden_size, model.num_layers, batch_first=True,
            bidirectional=model.bidirectional).double()
    if kind == "GRU":
        state = model.state_dict()
    if state is not None:
        m.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})
    elif kind != "GRU":
        with torch.no_grad():
            for name, p in m.named_parameters():
                if name.startswith("weight"):
                    p.mul_(weight_scale)
    return m


def module_connectivity(kind: str, model: GRUModel, x: np.ndarray, target: Target,
                        head: Head | None = None, state: Mapping[str, np.ndarray] | None = None,
                        seed: int = 0, weight_scale: float = 1.0) -> Connectivity:
    """‖∂y/∂x_s‖ for a vanilla RNN or an LSTM shaped like ``model``; y read out the same way."""
    import torch

    m = baseline_module(kind, model, state, seed, weight_scale)
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    _check_target(target, len(xt), model.num_directions * model.hidden_size, head)
    output, _ = m(xt[None])
    (gx,) = torch.autograd.grad(_readout(output[0], target, head), [xt])
    return Connectivity(kind, gx.norm(dim=-1).numpy(), None,
                        sum(p.numel() for p in m.parameters()))


def seconds_per_step(module, input_size: int, steps: int = 200, repeats: int = 7,
                     onednn: bool = True, threads: int = 1) -> float:
    """Best of ``repeats`` forward passes over a random (1, steps, I) input, divided by steps.

    float32 on the CPU, no autograd. torch 2.x runs the LSTM (not the GRU) through a fused
    oneDNN kernel when oneDNN is on, which is what users get; ``onednn=False`` compares the
    three on equal footing. One thread by default: a single sequence's small products gain
    nothing from more, and on a busy machine extra threads only add noise.
    """
    import torch

    m = module.float()
    x = torch.randn(1, steps, input_size)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        best = _best_forward(m, x, repeats, onednn)
    finally:
        torch.set_num_threads(before)
    return best / steps


def _best_forward(m, x, repeats: int, onednn: bool) -> float:
    """The shortest of ``repeats`` timed forward passes, after one warm-up, in seconds."""
    import torch

    best = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a note about Intel GPUs on every toggle
        with torch.no_grad(), torch.backends.mkldnn.flags(enabled=onednn):
            m(x)  # warm-up
            for _ in range(repeats):
                t0 = time.perf_counter()
                m(x)
                best = min(best, time.perf_counter() - t0)
    return best


def compare(model: GRUModel, x: np.ndarray, target: Target, head: Head | None = None,
            states: Mapping[str, Mapping[str, np.ndarray]] | None = None, seed: int = 0,
            timing: bool = True, weight_scale: float = 1.0) -> list[Connectivity]:
    """GRU, vanilla RNN and LSTM side by side on the same input and target.

    ``states`` may hold trained state dicts under "vanilla RNN" and "LSTM"; the others are
    random, their weights × ``weight_scale``. With ``timing``, each gets its measured time per
    step (torch.nn modules).
    """
    T, H, I = len(x), model.hidden_size, model.input_size
    # three models, forward and backward through every step: per step ~1e6 operations of
    # Python and autograd overhead (measured: 5,000 steps took 36 s) plus the products
    per_step = 3 * (1e6 + 18.0 * H * (I + H) * model.num_layers * model.num_directions)
    budget.check(f"Gradients of three models through {T} steps", T * per_step, 0,
                 f"Shorten the input to at most about {int(budget.MAX_FLOPS // per_step)} "
                 "steps.")
    states = states or {}
    out = [gru_connectivity(model, x, target, head=head)]
    out += [module_connectivity(k, model, x, target, head, states.get(k), seed, weight_scale)
            for k in ARCHITECTURES[1:]]
    if timing:
        def timed(c: Connectivity, onednn: bool) -> float:
            module = baseline_module(c.kind, model, states.get(c.kind), seed)
            return seconds_per_step(module, model.input_size, onednn=onednn)

        out = [replace(c, seconds_per_step=timed(c, True), seconds_per_step_plain=timed(c, False))
               for c in out]
    return out
