"""Small models from outside gru-viz, built by their own frameworks: a Keras .keras file (Keras
on the torch backend), an ONNX GRU (onnx.helper) and a gru-viz capture of a live torch module.
Shared by the AppTest and browser tests."""

import io
import os
import tempfile

import numpy as np


def keras_model():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    L = keras.layers
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, 3)),
                              L.Bidirectional(L.GRU(4, return_sequences=True), name="bi"),
                              L.Dense(2, name="out")])
    rng = np.random.default_rng(1)
    for layer in model.layers:
        layer.set_weights([rng.uniform(-1, 1, w.shape).astype(w.dtype)
                           for w in layer.get_weights()])
    return model


def keras_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.keras")
        keras_model().save(path)
        with open(path, "rb") as f:
            return f.read()


def onnx_bytes(direction: str = "reverse", lbr: int = 0) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    D, H, I = (2 if direction == "bidirectional" else 1), 5, 3
    inits = [numpy_helper.from_array(rng.uniform(-1, 1, (D, 3 * H, I)), "W"),
             numpy_helper.from_array(rng.uniform(-1, 1, (D, 3 * H, H)), "R"),
             numpy_helper.from_array(rng.uniform(-1, 1, (D, 6 * H)), "B")]
    node = helper.make_node("GRU", ["X", "W", "R", "B"], ["Y", "Y_h"], name="onnx_gru",
                            hidden_size=H, direction=direction, linear_before_reset=lbr)
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("X", TensorProto.DOUBLE, None)],
                              [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None)],
                              inits)
    return helper.make_model(graph).SerializeToString()


def recording():
    import torch

    import gru_viz

    torch.manual_seed(3)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.front = torch.nn.Linear(2, 3)
            self.rnn = torch.nn.GRU(3, 4, batch_first=True)

        def forward(self, x):
            return self.rnn(torch.tanh(self.front(x)))[0]

    x = torch.randn(2, 9, 2)
    return gru_viz.record(Net().eval(), x, tokens=[list("abcdefghi"), list("jklmnopqr")],
                          description="two sequences through a Linear -> GRU")


def capture_bytes() -> bytes:
    return recording().to_bytes()


def npz_bytes() -> bytes:
    rng = np.random.default_rng(4)
    buf = io.BytesIO()
    np.savez(buf, W_ih=rng.normal(size=(12, 3)), W_hh=rng.normal(size=(12, 4)),
             b_ih=rng.normal(size=12), b_hh=rng.normal(size=12))
    return buf.getvalue()
