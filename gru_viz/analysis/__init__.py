"""Questions asked of a model or a recorded run: units, dynamics, memory, gradients, ablation."""
