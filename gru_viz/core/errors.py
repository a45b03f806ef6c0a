"""The one error type users see: every message says what was wrong and how to fix it."""


class GRUVizError(ValueError):
    """A problem with user-supplied data (input, weights, checkpoint), never a programming bug."""


class InputError(GRUVizError):
    """A typed or uploaded input sequence could not be read."""


class WeightsError(GRUVizError):
    """Weights have the wrong shape, or do not fit together."""


class CheckpointError(GRUVizError):
    """A checkpoint file could not be loaded safely or holds no usable GRU."""
