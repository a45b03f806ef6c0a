"""The one hand-over every reader gives its arrays, and the one .npy header check."""

import io

import numpy as np
import pytest

from gru_viz.io.arrays import npy_header, read_only


@pytest.mark.parametrize("dtype", [">f4", "<f4", ">f8", "<f2", ">f2", "|u1", "<i8"])
def test_read_only_keeps_every_value_in_native_order(dtype):
    rng = np.random.default_rng(0)
    a = (rng.normal(size=(3, 5)) * 50).astype(dtype)
    b = read_only(a)
    assert b.dtype.isnative and not b.flags.writeable
    assert b.dtype == (np.float32 if a.dtype.kind == "f" and a.dtype.itemsize == 2
                       else a.dtype.newbyteorder("="))
    assert np.array_equal(b, a.astype(b.dtype))  # float16 widens exactly


@pytest.mark.parametrize("order", ["C", "F"])
def test_npy_header_reads_what_numpy_saved(order):
    a = np.asfortranarray(np.ones((2, 7), ">f8")) if order == "F" else np.ones((4, 3, 2), "<i4")
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    buf.seek(0)
    assert npy_header(buf) == (a.shape, order == "F" and a.ndim > 1, a.dtype)


def test_npy_header_refuses_other_bytes():
    with pytest.raises(ValueError):
        npy_header(io.BytesIO(b"PK\x03\x04 not a .npy"))
