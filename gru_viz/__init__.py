"""gru-viz: record and show every gate of a GRU. The NumPy core imports without torch."""

from gru_viz.api import Result, run_checkpoint, trace_checkpoint
from gru_viz.checkpoint import Checkpoint, load_checkpoint
from gru_viz.errors import CheckpointError, GRUVizError, InputError, WeightsError
from gru_viz.inputs import Vocabulary, parse_rows
from gru_viz.model import GRUModel
from gru_viz.run import run
from gru_viz.trace import LayerTrace, Trace
from gru_viz.weights import CourseWeights, GRUWeights

__all__ = [
    "Checkpoint", "CheckpointError", "CourseWeights", "GRUModel", "GRUVizError", "GRUWeights",
    "InputError", "LayerTrace", "Result", "Trace", "Vocabulary", "WeightsError",
    "load_checkpoint", "parse_rows", "run", "run_checkpoint", "trace_checkpoint",
]
