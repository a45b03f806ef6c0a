import io

import numpy as np
import pytest

from gru_viz.core.errors import InputError
from gru_viz.io.inputs import (
    Vocabulary,
    format_rows,
    one_hot,
    parse_ids,
    parse_rows,
    read_csv,
    read_npy,
)


def test_parse_rows_and_back():
    x = parse_rows("0.5, 1; 0, 1\n1 -1")
    np.testing.assert_array_equal(x, [[0.5, 1], [0, 1], [1, -1]])
    np.testing.assert_array_equal(parse_rows(format_rows(x)), x)
    assert parse_rows("", width=3).shape == (0, 3)


@pytest.mark.parametrize("text,msg", [
    ("1, 2; 3", "Row 2 '3' has 1 value"),
    ("1, x", "Row 1 '1, x', value 2: 'x' is not a number"),
    ("1; inf", "Row 2 'inf', value 1: 'inf' is not finite"),
])
def test_parse_rows_errors_say_where(text, msg):
    with pytest.raises(InputError, match=msg):
        parse_rows(text)


def test_an_empty_row_between_rows_is_reported_not_dropped():
    with pytest.raises(InputError, match="Row 2 is empty"):
        parse_rows("1;;2")
    with pytest.raises(InputError, match="Row 2 is empty"):
        parse_rows("1\n\n2")
    # a ';' that ends a line, and blank lines around the rows, make no row
    np.testing.assert_array_equal(parse_rows("1;\n2;\n\n"), [[1], [2]])


def test_row_numbers_count_the_rows_as_typed():
    """The bad row is the fourth typed, though only three rows are non-empty."""
    with pytest.raises(InputError, match="Row 4 'x'"):
        parse_rows("1; ; 2; x", width=1)


def test_every_problem_is_reported_with_its_row_as_typed():
    with pytest.raises(InputError) as err:
        parse_rows("1, a; 2; ; 3, 4, 5; inf, 1", width=2)
    msg = str(err.value)
    assert msg.startswith("5 problems in the input")
    for part in ("Row 1 '1, a', value 2: 'a' is not a number",
                 "Row 2 '2' has 1 value(s), expected 2",
                 "Row 3 is empty", "Row 4 '3, 4, 5' has 3 value(s)",
                 "Row 5 'inf, 1', value 1: 'inf' is not finite"):
        assert part in msg, (part, msg)


def test_a_long_list_of_problems_is_cut_with_a_count():
    with pytest.raises(InputError, match=r"12 problems.*… and 2 more\."):
        parse_rows("; ".join(["x"] * 12), width=1)


def test_width_is_checked():
    with pytest.raises(InputError, match="expected 3 .the model's input size"):
        parse_rows("1, 2", width=3)


def test_vocabulary_lists_every_unknown_symbol():
    v = Vocabulary.from_text("([])")
    np.testing.assert_array_equal(v.one_hot(v.encode("(]")), [[1, 0, 0, 0], [0, 0, 0, 1]])
    with pytest.raises(InputError, match=r"'x' at position 1, '\{' at position 3"):
        v.encode("(x]{")
    with pytest.raises(InputError, match="twice"):
        Vocabulary(("a", "a"))


def test_ids():
    np.testing.assert_array_equal(parse_ids("3 1, 4", 5), [3, 1, 4])
    with pytest.raises(InputError, match="Token 2 is 9"):
        parse_ids("1 9", 5)
    with pytest.raises(InputError, match="out of range"):
        one_hot(np.array([5]), 5)


def test_csv_and_npy():
    np.testing.assert_array_equal(read_csv(b"a,b\n1,2\n3,4\n"), [[1, 2], [3, 4]])
    buf = io.BytesIO()
    np.save(buf, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(read_npy(buf.getvalue(), width=2), np.arange(6.0).reshape(3, 2))
    with pytest.raises(InputError, match="not a .npy file"):
        read_npy(b"garbage")
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        read_npy(buf.getvalue())
    with pytest.raises(InputError, match="not a readable .npy"):
        read_npy(buf.getvalue()[:60])
    with pytest.raises(InputError, match="not UTF-8"):
        read_csv(b"\xff\xfe1,2")
