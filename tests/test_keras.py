"""Keras 3 models (torch backend, no TensorFlow) saved to .keras and legacy .h5, read by us
with h5py only, compared with Keras's own layer output."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
if keras.backend.backend() != "torch":  # pragma: no cover - another backend chosen outside
    pytest.skip("these tests run Keras on the torch backend", allow_module_level=True)
L = keras.layers
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from gru_viz.api import run_checkpoint  # noqa: E402
from gru_viz.core.engine import run  # noqa: E402
from gru_viz.core.errors import CheckpointError  # noqa: E402
from gru_viz.io.checkpoint import load_checkpoint  # noqa: E402

T, I, B = 7, 3, 2


def keras_out(model, x):
    return keras.ops.convert_to_numpy(model(x))


def saved(model, tmp_path, ext):
    path = tmp_path / f"m{ext}"
    model.save(path)
    return path


def x_in(dtype="float32", seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, I)).astype(dtype)


def spread(model, seed=1):
    """Weights spread wider than Keras's initialisers, so the gates use their range."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights([rng.uniform(-1, 1, w.shape).astype(w.dtype)
                           for w in layer.get_weights()])
    return model


CASES = {
    "reset_after": lambda: [L.GRU(5, return_sequences=True)],
    "reset_before": lambda: [L.GRU(5, return_sequences=True, reset_after=False)],
    "go_backwards": lambda: [L.GRU(5, return_sequences=True, go_backwards=True)],
    "bidirectional": lambda: [L.Bidirectional(L.GRU(4, return_sequences=True))],
    "stacked": lambda: [L.GRU(5, return_sequences=True, go_backwards=True),
                        L.GRU(5, return_sequences=True)],
    "stacked_bidirectional": lambda: [L.Bidirectional(L.GRU(4, return_sequences=True)),
                                      L.Bidirectional(L.GRU(4, return_sequences=True))],
    "rnn_grucell": lambda: [L.RNN(L.GRUCell(5), return_sequences=True)],
    "no_bias": lambda: [L.GRU(5, return_sequences=True, use_bias=False)],
}
REVERSED_OUTPUT = {"go_backwards", "stacked"}  # Keras returns these last step first


@pytest.mark.parametrize("ext", [".keras", ".h5"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_keras_float32(case, ext, tmp_path):
    model = spread(keras.Sequential([keras.Input((T, I))] + CASES[case]()))
    x = x_in()
    want = keras_out(model, x)
    ckpt = load_checkpoint(saved(model, tmp_path, ext))
    assert len(ckpt.gru_names) == 1, ckpt.gru_names
    assert ckpt.model.num_layers == len(model.layers)
    assert ckpt.has_bias == (case != "no_bias")
    got = run(ckpt.model, x.astype(np.float64), dtype=np.float64).output
    if case in REVERSED_OUTPUT:
        got = got[:, ::-1]
    assert np.abs(got - want).max() <= 1e-5


def test_go_backwards_is_a_reverse_only_layer(tmp_path):
    model = spread(keras.Sequential([keras.Input((T, I))] + CASES["stacked"]()))
    ckpt = load_checkpoint(saved(model, tmp_path, ".keras"))
    assert ckpt.model.reverse_only == (True, True)  # layer 1 reads layer 0's reversed output
    assert "go_backwards" in ckpt.description["gru_source"]


def test_layers_of_different_sizes_are_separate_grus(tmp_path):
    model = spread(keras.Sequential([keras.Input((T, I)), L.GRU(5, return_sequences=True),
                                     L.GRU(4, return_sequences=True, name="second")]))
    x = x_in()
    ckpt = load_checkpoint(saved(model, tmp_path, ".keras"))
    assert len(ckpt.gru_names) == 2 and ckpt.gru_names[1] == "second"
    first = run(ckpt.model, x.astype(np.float64)).output
    second = run(ckpt.select("second").model, first).output
    assert np.abs(second - keras_out(model, x)).max() <= 1e-5


@pytest.mark.parametrize("reset_after,tol", [(True, 1e-10), (False, 1e-6)])
def test_float64_layer(reset_after, tol, tmp_path):
    # Keras's float64 GRU computes in float64 with reset_after=True (measured 1.4e-16), but
    # its reset_after=False path rounds to float32 inside (measured 4e-8): that is the oracle's
    # precision there, not ours (the ONNX and torch oracles check reset before at 1e-10).
    model = spread(keras.Sequential([keras.Input((T, I), dtype="float64"),
                                     L.GRU(5, return_sequences=True, reset_after=reset_after,
                                           dtype="float64")]))
    x = x_in("float64")
    want = keras_out(model, x)
    assert want.dtype == np.float64
    ckpt = load_checkpoint(saved(model, tmp_path, ".keras"))
    assert np.abs(run(ckpt.model, x).output - want).max() <= tol


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_embedding_front_and_dense_head(ext, tmp_path):
    V = 6
    model = spread(keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(V, I),
                                     L.GRU(5, return_sequences=True), L.Dense(V)]))
    ids = np.array([[0, 3, 5, 1, 2]])
    want = keras_out(model, ids)
    ckpt = load_checkpoint(saved(model, tmp_path, ext))
    assert ckpt.embedding is not None and ckpt.head_weight is not None
    res = run_checkpoint(ckpt, ids=ids[0], dtype=np.float64)
    assert np.abs(res.head_output - want[0]).max() <= 1e-5


def test_functional_model_with_conv_front(tmp_path):
    inp = keras.Input((T, I))
    feats = L.Conv1D(4, 3, padding="same", activation="relu")(inp)
    seq = L.GRU(5, return_sequences=True, name="encoder_gru")(feats)
    out = L.Dense(2)(seq)
    model = spread(keras.Model(inp, out))
    ckpt = load_checkpoint(saved(model, tmp_path, ".keras"))
    assert ckpt.gru_name == "encoder_gru" and ckpt.model.input_size == 4
    assert ckpt.embedding is None and ckpt.head_weight.shape == (2, 5)
    conv = keras.Model(inp, feats)
    gru_out = keras.Model(inp, seq)
    x = x_in()
    got = run(ckpt.model, keras_out(conv, x).astype(np.float64), dtype=np.float64).output
    assert np.abs(got - keras_out(gru_out, x)).max() <= 1e-5


@pytest.mark.parametrize("layer,match", [
    (lambda: L.GRU(4, activation="relu"), "layer 'gru.*' uses activation='relu'"),
    (lambda: L.GRU(4, recurrent_activation="hard_sigmoid"),
     "uses recurrent_activation='hard_sigmoid'"),
    (lambda: L.RNN(L.SimpleRNNCell(4)), "RNN with the cell 'SimpleRNNCell'"),
])
def test_refused_by_layer_and_option(layer, match, tmp_path):
    model = keras.Sequential([keras.Input((T, I)), layer()])
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(saved(model, tmp_path, ".keras"))
    assert "corrupt" not in str(info.value)


def test_recurrent_dropout_is_fine_and_lstm_is_named(tmp_path):
    model = keras.Sequential([keras.Input((T, I)), L.GRU(4, recurrent_dropout=0.3)])
    assert load_checkpoint(saved(model, tmp_path, ".keras")).model.hidden_size == 4
    lstm = keras.Sequential([keras.Input((T, I)), L.LSTM(4)])
    with pytest.raises(CheckpointError, match="no GRU layer.*LSTM"):
        load_checkpoint(saved(lstm, tmp_path, ".keras"))


def test_hostile_keras_files(tmp_path):
    import io
    import zipfile

    import h5py

    model = keras.Sequential([keras.Input((T, I)), L.GRU(4)])
    data = saved(model, tmp_path, ".keras").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    # an external link in the weights file pointing at a file on this machine: never followed
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("secret", data=np.ones((4, 12)))
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "a") as f:
        del f["layers/gru/cell/vars/0"]
        f["layers/gru/cell/vars/0"] = h5py.ExternalLink(str(other), "secret")
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        for n, b in members.items():
            z.writestr(n, buf.getvalue() if n == "model.weights.h5" else b)
    with pytest.raises(CheckpointError, match="never follows"):
        load_checkpoint(bad.getvalue(), name="m.keras")
    # a config that is not JSON
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        for n, b in members.items():
            z.writestr(n, b"{not json" if n == "config.json" else b)
    with pytest.raises(CheckpointError, match="truncated or corrupt Keras file"):
        load_checkpoint(bad.getvalue(), name="m.keras")
    # a dataset declaring far more than the file holds (chunked, compressed zeros)
    buf = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buf, "a") as f:
        del f["layers/gru/cell/vars/1"]
        f.create_dataset("layers/gru/cell/vars/1", shape=(40000, 40000), dtype="f4",
                         chunks=(1000, 1000), compression="gzip")
    bad = io.BytesIO()
    with zipfile.ZipFile(bad, "w") as z:
        for n, b in members.items():
            z.writestr(n, buf.getvalue() if n == "model.weights.h5" else b)
    with pytest.raises(CheckpointError, match="declares shape"):
        load_checkpoint(bad.getvalue(), name="m.keras")
