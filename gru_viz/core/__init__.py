"""The GRU itself: weights, models, the recording engines, traces, notations, errors. NumPy only."""
