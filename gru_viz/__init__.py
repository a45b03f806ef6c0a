"""gru-viz: record and show every gate of a GRU. The NumPy core imports without torch."""

from gru_viz.api import Result, example, run_checkpoint, trace_checkpoint
from gru_viz.core.engine import run
from gru_viz.core.errors import CheckpointError, GRUVizError, InputError, WeightsError
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import LayerTrace, Trace
from gru_viz.core.weights import CourseWeights, GRUWeights
from gru_viz.io.checkpoint import Checkpoint, load_checkpoint
from gru_viz.io.inputs import Vocabulary, parse_rows
from gru_viz.io.live import RecordedGRU, Recording, record
from gru_viz.launch import open_in_app

__all__ = [
    "Checkpoint", "CheckpointError", "CourseWeights", "GRUModel", "GRUVizError", "GRUWeights",
    "InputError", "LayerTrace", "RecordedGRU", "Recording", "Result", "Trace", "Vocabulary",
    "WeightsError", "example", "load_checkpoint", "open_in_app", "parse_rows", "record", "run",
    "run_checkpoint", "trace_checkpoint",
]
