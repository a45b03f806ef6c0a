"""ONNX GRU nodes built with onnx.helper, read by us and compared with onnx's own
ReferenceEvaluator in float64 (1e-10) for every direction, layout and reset placement."""

import itertools

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from gru_viz.core.engine import run  # noqa: E402
from gru_viz.core.errors import CheckpointError  # noqa: E402
from gru_viz.io.checkpoint import load_checkpoint  # noqa: E402
from gru_viz.io.formats import identify  # noqa: E402

I, H, T, B = 3, 4, 6, 2


def build(direction="forward", layout=0, lbr=0, bias=True, seed=0, extra_attrs=None,
          sequence_lens=False, metadata=None, h0=False):
    rng = np.random.default_rng(seed)
    D = 2 if direction == "bidirectional" else 1
    inits = [numpy_helper.from_array(rng.uniform(-1, 1, (D, 3 * H, I)), "W"),
             numpy_helper.from_array(rng.uniform(-1, 1, (D, 3 * H, H)), "R")]
    inputs = ["X", "W", "R"]
    if bias:
        inits.append(numpy_helper.from_array(rng.uniform(-1, 1, (D, 6 * H)), "B"))
        inputs.append("B")
    graph_inputs = [helper.make_tensor_value_info("X", TensorProto.DOUBLE, None)]
    if sequence_lens or h0:
        inputs += ["sequence_lens" if sequence_lens else "", "initial_h" if h0 else ""]
        if sequence_lens:
            graph_inputs.append(helper.make_tensor_value_info("sequence_lens",
                                                              TensorProto.INT32, None))
        if h0:
            graph_inputs.append(helper.make_tensor_value_info("initial_h", TensorProto.DOUBLE,
                                                              None))
    node = helper.make_node("GRU", inputs, ["Y", "Y_h"], name="gru_node", hidden_size=H,
                            direction=direction, layout=layout, linear_before_reset=lbr,
                            **(extra_attrs or {}))
    graph = helper.make_graph([node], "g", graph_inputs,
                              [helper.make_tensor_value_info("Y", TensorProto.DOUBLE, None),
                               helper.make_tensor_value_info("Y_h", TensorProto.DOUBLE, None)],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    for k, v in (metadata or {}).items():
        model.metadata_props.add(key=k, value=v)
    return model


@pytest.mark.parametrize("direction,layout,lbr", list(itertools.product(
    ["forward", "reverse", "bidirectional"], [0, 1], [0, 1])))
def test_matches_the_reference_evaluator(direction, layout, lbr):
    model = build(direction, layout, lbr)
    ckpt = load_checkpoint(model.SerializeToString(), name="m.onnx")
    assert ckpt.model.reset_after == bool(lbr)
    assert ckpt.model.reverse_only == ((True,) if direction == "reverse" else ())
    rng = np.random.default_rng(1)
    x = rng.normal(size=(B, T, I)) * 2  # batch-major
    h0 = rng.normal(size=(ckpt.model.num_directions, B, H))
    feeds = {"X": x if layout else x.swapaxes(0, 1)}
    Y, Y_h = ReferenceEvaluator(model).run(None, feeds)
    Y = Y if layout else Y.transpose(2, 0, 1, 3)  # -> (B, T, D, H)
    Y_h = Y_h.swapaxes(0, 1) if layout else Y_h  # -> (D, B, H)
    tr = run(ckpt.model, x)
    assert np.abs(tr.output - Y.reshape(B, T, -1)).max() <= 1e-10
    assert np.abs(tr.h_n - Y_h).max() <= 1e-10
    # with an initial state too
    m2 = build(direction, layout, lbr, h0=True)
    feeds["initial_h"] = h0.swapaxes(0, 1) if layout else h0
    Y, Y_h = ReferenceEvaluator(m2).run(None, feeds)
    Y = Y if layout else Y.transpose(2, 0, 1, 3)
    assert np.abs(run(ckpt.model, x, h0).output - Y.reshape(B, T, -1)).max() <= 1e-10


def test_sequence_lens_each_sequence_to_its_own_length():
    # ReferenceEvaluator ignores sequence_lens, so each sequence is run alone at its length:
    # that is what ONNX defines Y[:len_b, :, b] and Y_h[:, b] to be.
    model = build("bidirectional", sequence_lens=True)
    ckpt = load_checkpoint(model.SerializeToString(), name="m.onnx")
    assert "sequence_lens" in ckpt.description["gru_source"]
    rng = np.random.default_rng(2)
    x = rng.normal(size=(B, T, I))
    for b, L in enumerate([T, 3]):
        Y, Y_h = ReferenceEvaluator(model).run(None, {"X": x[b:b + 1, :L].swapaxes(0, 1),
                                                      "sequence_lens": np.array([L], np.int32)})
        tr = run(ckpt.model, x[b, :L])
        assert np.abs(tr.output - Y[:, :, 0].reshape(L, -1)).max() <= 1e-10
        assert np.abs(tr.h_n - Y_h[:, 0]).max() <= 1e-10


def test_no_bias_vocabulary_and_recognition():
    model = build(bias=False, metadata={"vocab": '["a", "b", "c"]'})
    data = model.SerializeToString()
    assert identify(data, "model.bin").kind == "onnx"  # by content, not by name
    ckpt = load_checkpoint(data)
    assert not ckpt.has_bias and ckpt.vocabulary.symbols == ("a", "b", "c")
    assert ckpt.gru_name == "gru_node"


@pytest.mark.parametrize("attrs,match", [
    ({"clip": 3.0}, "clip=3"),
    ({"activations": ["HardSigmoid", "Tanh"]}, "activations \\['HardSigmoid', 'Tanh'\\]"),
])
def test_refused_by_name(attrs, match):
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(build(extra_attrs=attrs).SerializeToString(), name="m.onnx")
    assert "gru_node" in str(info.value) and "corrupt" not in str(info.value)


def test_default_activations_spelled_out_are_fine():
    model = build("bidirectional", extra_attrs={"activations": ["Sigmoid", "Tanh"] * 2})
    assert load_checkpoint(model.SerializeToString(), name="m.onnx").model.bidirectional


def test_hostile_and_broken_onnx():
    model = build()
    w = model.graph.initializer[0]
    w.dims[:] = [10**6, 10**6, 10**3]  # declares far more than it stores
    with pytest.raises(CheckpointError, match="declares shape"):
        load_checkpoint(model.SerializeToString(), name="m.onnx")
    model = build()
    model.graph.initializer[0].data_location = TensorProto.EXTERNAL
    with pytest.raises(CheckpointError, match="external data"):
        load_checkpoint(model.SerializeToString(), name="m.onnx")
    data = build().SerializeToString()
    with pytest.raises(CheckpointError, match="truncated or corrupt ONNX"):
        load_checkpoint(data[: len(data) // 2], name="m.onnx")
    lstm = helper.make_model(helper.make_graph(
        [helper.make_node("LSTM", ["X", "W", "R"], ["Y"])], "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)]))
    with pytest.raises(CheckpointError, match="no GRU node. It has LSTM"):
        load_checkpoint(lstm.SerializeToString(), name="m.onnx")


def test_gather_embedding_in_front_is_found():
    model = build()
    table = numpy_helper.from_array(np.random.default_rng(3).normal(size=(10, I)), "table")
    model.graph.initializer.append(table)
    gather = helper.make_node("Gather", ["table", "ids"], ["X"], name="embed")
    model.graph.node.insert(0, gather)
    del model.graph.input[:]
    model.graph.input.append(helper.make_tensor_value_info("ids", TensorProto.INT64, None))
    ckpt = load_checkpoint(model.SerializeToString(), name="m.onnx")
    assert ckpt.embedding.shape == (10, I)
    ids = np.array([[1], [4], [9]])  # (T, B)
    Y, _ = ReferenceEvaluator(model).run(None, {"ids": ids})
    assert np.abs(run(ckpt.model, ckpt.embedding[ids[:, 0]]).output - Y[:, 0, 0]).max() < 1e-10
