"""gru-viz: record and show every gate of a GRU. The NumPy core imports without torch."""

from gru_viz.errors import CheckpointError, GRUVizError, InputError, WeightsError
from gru_viz.inputs import Vocabulary, parse_rows
from gru_viz.model import GRUModel
from gru_viz.run import run
from gru_viz.trace import LayerTrace, Trace
from gru_viz.weights import CourseWeights, GRUWeights

__all__ = [
    "CheckpointError", "CourseWeights", "GRUModel", "GRUVizError", "GRUWeights", "InputError",
    "LayerTrace", "Trace", "Vocabulary", "WeightsError", "parse_rows", "run",
]
