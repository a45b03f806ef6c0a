"""Arbitrary text, bytes and numbers at every input parser: a result or an InputError, nothing else."""

import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gru_viz.core.engine import run
from gru_viz.core.errors import GRUVizError
from gru_viz.core.model import GRUModel
from gru_viz.io.inputs import Vocabulary, parse_ids, parse_rows, read_csv, read_npy

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30))
row_text = st.lists(st.lists(numbers.map(str) | st.text(max_size=4), max_size=5), max_size=8).map(
    lambda rows: ";".join(",".join(r) for r in rows))


def outcome(fn, *args):
    """Call fn: it must return or raise our error type; anything else fails the test."""
    try:
        return fn(*args)
    except GRUVizError as exc:
        assert str(exc), "error messages must say something"
        return exc


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), row_text), st.none() | st.integers(1, 4))
def test_parse_rows_never_crashes(text, width):
    x = outcome(parse_rows, text, width)
    if isinstance(x, np.ndarray):
        assert x.ndim == 2 and np.isfinite(x).all()
        assert width is None or x.shape[1] == width


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_read_csv_and_npy_never_crash_on_bytes(data):
    outcome(read_csv, data)
    outcome(read_npy, data)
    outcome(read_npy, b"\x93NUMPY" + data)


@settings(max_examples=100, deadline=None)
@given(arrays(st.sampled_from([np.float64, np.float32, np.int8, np.bool_, np.complex64]),
              st.tuples(st.integers(0, 4), st.integers(0, 3)) | st.tuples(st.integers(0, 5))))
def test_read_npy_on_real_arrays(a):
    buf = io.BytesIO()
    np.save(buf, a)
    x = outcome(read_npy, buf.getvalue())
    if isinstance(x, np.ndarray):
        assert x.ndim == 2 and np.isfinite(x).all()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50), st.text(min_size=1, max_size=20))
def test_vocabulary_and_ids(text, symbols):
    v = outcome(Vocabulary.from_text, symbols)
    ids = outcome(v.encode, text)
    if isinstance(ids, np.ndarray):
        assert v.decode(ids) == list(text)
    outcome(parse_ids, text, 7)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(0, 5), st.integers(1, 3)),
              elements=st.floats(allow_nan=True, allow_infinity=True)),
       st.sampled_from(["none", "nan", "inf"]))
def test_run_on_any_floats_and_weights(x, bad_weight):
    """Non-finite inputs are refused with a message; non-finite weights give NaN, no crash."""
    m = GRUModel.random(x.shape[1], 3)
    if bad_weight != "none":
        w = m.cells[0][0]
        m = m.replace_cell(0, 0, w.replace(W_hz=np.full((3, 3), float(bad_weight))))
    tr = outcome(run, m, x)
    if not np.isfinite(x).all():
        assert isinstance(tr, GRUVizError) and "NaN or inf" in str(tr)
    else:
        assert tr.output.shape == (x.shape[0], 3)
        assert np.isfinite(tr.output).all() == (bad_weight == "none" or x.shape[0] == 0)
