"""Exports hold the whole trace: every cell and field, read back equal, plus the description."""

import csv
import io
import json

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.trace import STEP_FIELDS
from gru_viz.io.export import cell_name, to_csv, to_json, to_npz, trace_arrays

DESC = {"model": "test", "metrics": {"loss": 0.5}}


@pytest.fixture
def trace(rng):
    model = GRUModel.random(3, 4, num_layers=2, bidirectional=True, seed=1)
    return run(model, rng.normal(size=(5, 3)))


def test_npz_round_trip(trace):
    extras = {"probs": np.full((5, 2), 0.5)}
    with np.load(io.BytesIO(to_npz(trace, DESC, list("abcde"), extras))) as z:
        assert json.loads(str(z["description"])) == DESC
        assert z["tokens"].tolist() == list("abcde")
        arrays = trace_arrays(trace, extras)
        assert set(arrays) <= set(z.files)
        for k, a in arrays.items():
            np.testing.assert_array_equal(z[k], a)
    assert {"l0.z", "l0_reverse.z", "l1.h", "l1_reverse.hn", "output", "h_n"} <= set(arrays)


def test_json_round_trip(trace):
    doc = json.loads(to_json(trace, DESC, list("abcde")))
    assert doc["description"] == DESC and doc["tokens"] == list("abcde")
    assert [c["name"] for c in doc["cells"]] == ["l0", "l0_reverse", "l1", "l1_reverse"]
    for c, got in zip(trace.cells(), doc["cells"]):
        for f in ("x", "h0") + STEP_FIELDS:
            np.testing.assert_array_equal(np.array(got[f]), getattr(c, f))
    np.testing.assert_array_equal(np.array(doc["h_n"]), trace.h_n)


def test_json_writes_nan_as_null(rng):
    w = GRUModel.random(2, 3).cells[0][0]
    model = GRUModel(((w.replace(W_hr=np.full((3, 3), np.nan)),),))
    doc = json.loads(to_json(run(model, rng.normal(size=(2, 2))), DESC))
    assert doc["cells"][0]["r"][1][0] is None  # step 1 reads the NaN weights


def test_csv_has_one_row_per_cell_step_unit(trace):
    text = to_csv(trace, DESC, list("abcde"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert json.loads(rows[0]["description"]) == DESC
    assert all(row["description"] == "" for row in rows[1:])
    assert len(rows) == 4 * 5 * 4  # cells × steps × units
    by_cell = {cell_name(c): c for c in trace.cells()}
    for row in rows:
        c, t, j = by_cell[row["cell"]], int(row["t"]), int(row["unit"])
        assert row["token"] == "abcde"[t]
        for f in STEP_FIELDS:
            assert float(row[f]) == getattr(c, f)[t, j]


HOSTILE_TOKENS = ["#", ",", '"', "\n", "a", " ", "\r", "'", ";"]


def test_csv_reads_back_whole_with_the_csv_module_and_pandas_defaults(rng):
    """Tokens that are CSV syntax (comment mark, delimiter, quote, new line) survive both."""
    pd = pytest.importorskip("pandas")
    tr = run(GRUModel.random(2, 2, seed=3), rng.normal(size=(len(HOSTILE_TOKENS), 2)))
    text = to_csv(tr, {"name": 'a "quoted", #commented\nmodel'}, HOSTILE_TOKENS)
    c = tr.layers[0][0]
    want = [(t, j, tok) for t, tok in enumerate(HOSTILE_TOKENS) for j in range(2)]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    df = pd.read_csv(io.StringIO(text, newline=""))
    assert len(rows) == len(df) == len(want)
    assert json.loads(rows[0]["description"])["name"] == 'a "quoted", #commented\nmodel'
    assert json.loads(df["description"][0]) == json.loads(rows[0]["description"])
    for (t, j, tok), row, (_, prow) in zip(want, rows, df.iterrows()):
        assert row["token"] == tok and (int(row["t"]), int(row["unit"])) == (t, j)
        # pandas strips nothing but reads a lone blank or quote as written
        assert prow["token"] == tok and (prow["t"], prow["unit"]) == (t, j)
        for f in STEP_FIELDS:
            assert float(row[f]) == prow[f] == getattr(c, f)[t, j]


def test_csv_of_a_batch_numbers_the_sequences(rng):
    tr = run(GRUModel.random(2, 3), rng.normal(size=(2, 4, 2)))
    rows = list(csv.DictReader(io.StringIO(to_csv(tr, {}))))
    assert len(rows) == 2 * 4 * 3 and {r["b"] for r in rows} == {"0", "1"}
    last = rows[-1]
    assert float(last["h"]) == tr.layers[0][0].h[1, 3, 2]


def test_html_page_holds_every_cell_with_fixed_colour_ranges(trace):
    from gru_viz.core.notation import COURSE
    from gru_viz.figures.files import trace_html

    page = trace_html(trace, COURSE, list("abcde"), title="t <&> 1")
    assert page.count('"cmin":0,"cmax":1') == 4 and page.count('"cmin":-1,"cmax":1') == 4
    for c in trace.cells():
        assert f'"text":"{c.name}"' in page
    assert "t &lt;&amp;&gt; 1" in page and page.count("plotly.js v") == 1  # inlined once
