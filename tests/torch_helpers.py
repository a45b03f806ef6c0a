"""Build our models from real torch modules, so torch itself is the oracle."""

import numpy as np
import torch

from gru_viz.core.model import GRUModel


def model_of(module: torch.nn.Module) -> GRUModel:
    """GRUModel holding exactly a torch.nn.GRU's (or GRUCell's, as layer 0) parameters."""
    sd = {k: v.detach().double().numpy() for k, v in module.state_dict().items()}
    if isinstance(module, torch.nn.GRUCell):
        sd = {f"{k}_l0": v for k, v in sd.items()}
    return GRUModel.from_state_dict(sd).astype(np.float64)


def torch_gru(I, H, L=1, bi=False, bias=True, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    g = torch.nn.GRU(I, H, L, bias=bias, bidirectional=bi, batch_first=True).to(dtype)
    with torch.no_grad():  # spread the weights so gates visit their whole range
        for p in g.parameters():
            p.mul_(3)
    return g
