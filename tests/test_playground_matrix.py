"""The playground's matrix editor (cells over 2 units) applies an edit in its callback: the
plots drawn before the editors already show it. Driven over the real websocket protocol,
since AppTest cannot edit a data editor."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.teaching.presets import LATCH
from gru_viz.teaching.urlstate import unpack_weights
from tests.ws_client import Run, Session


def _editor(r: Run) -> str | None:
    return next((el.dataframe.id for el in r.elements.values()
                 if el.WhichOneof("type") == "dataframe"), None)


def _state(edits: dict) -> str:
    return json.dumps({"edited_rows": edits, "added_rows": [], "deleted_rows": []})


async def _edit(url: str) -> tuple[Run, Run, str]:
    """Hidden size 3 (matrix editors), then two edits of the update gate's table; the runs
    after each edit and the URL after the second."""
    async with Session(url, page="Playground") as s:
        first = await s.rerun()
        s.values[first.widgets()["hidden size"][0]] = 3
        editor = _editor(await s.rerun())
        # course notation (the default): the update gate's table holds W_ux = −W_iz and b_u
        s.values[editor] = _state({"0": {"x[0]": "-3.5"}})
        one = await s.rerun()
        s.values[editor] = _state({"0": {"x[0]": "-3.5"}, "2": {"b_u": "1.25"}})
        return one, await s.rerun(), s.query_string


def _update_gate(r: Run) -> np.ndarray:
    """(H, T) values of the heatmaps' first panel, as the page sent them."""
    z = r.charts()[0]["data"][0]["z"]
    a = np.frombuffer(base64.b64decode(z["bdata"]), np.dtype(z["dtype"]))
    return a.reshape(3, -1)


@pytest.mark.browser
def test_matrix_edits_reach_the_plots_of_the_same_run(server):
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds the main thread's loop
        one, two, query = pool.submit(asyncio.run, _edit(server)).result()
    assert not one.exceptions() and not two.exceptions()
    w = unpack_weights(dict(urllib.parse.parse_qsl(query))["w"])
    # both kept: W_iz = −W_ux; b_iz = −b_u − b_hz (b_hz of the new unit is 0)
    assert w.W_iz[0, 0] == np.float32(3.5) and w.b_iz[2] == np.float32(-1.25)
    assert w.W_iz[1, 0] == LATCH.weights.W_iz[1, 0]
    x = np.array([float(v) for v in LATCH.text.split(";")])[:, None]
    cell = run(GRUModel(((w,),)), x).layers[0][0]
    np.testing.assert_allclose(_update_gate(two), 1 - cell.z.T, atol=1e-5)  # course: Γu
    assert not np.allclose(_update_gate(one), _update_gate(two))


FORGED = [{"99": {"x[0]": 1.0}}, {"0": {"nope": 1.0}}, {"0": {"x[0]": "abc"}},
          {"0": {"x[0]": [1, 2]}}, {"0": {"h[9]": 1.0}}]


async def _forge(url: str) -> list[tuple[dict, Run, Run]]:
    """Forged editor states (issue 17), each followed by a valid edit in the same session."""
    runs = []
    async with Session(url, page="Playground") as s:
        first = await s.rerun()
        s.values[first.widgets()["hidden size"][0]] = 3
        editor = _editor(await s.rerun())
        for edits in FORGED:
            s.values[editor] = _state(edits)
            forged = await s.rerun()
            if any(el.WhichOneof("type") == "dataframe" for el in forged.elements.values()):
                editor = _editor(forged)
            s.values[editor] = _state({"1": {"x[0]": 0.5}})
            valid = await s.rerun()
            editor = _editor(valid)
            runs.append((edits, forged, valid))
    return runs


@pytest.mark.browser
def test_forged_editor_states_are_messages_and_do_not_stick(server):
    with ThreadPoolExecutor(1) as pool:
        runs = pool.submit(asyncio.run, _forge(server)).result()
    for edits, forged, valid in runs:
        assert not forged.exceptions(), (edits, forged.exceptions())
        assert len(forged.charts()) == 2  # the plots are drawn
        assert not valid.exceptions(), (edits, valid.exceptions())
        assert len(valid.charts()) == 2


# States Streamlit's own reading of the editor's JSON fails on, before any page code runs (its
# callback check deserializes every widget): a row key that is not a whole number, JSON that
# does not parse, edits that are not a mapping.
UNREADABLE = [_state({"zero": {"x[0]": 1.0}}), "{not json", json.dumps([1, 2]),
              json.dumps({"edited_rows": [1, 2]}), _state({"1.5": {"x[0]": 1.0}})]


def _errors(r: Run) -> list[str]:
    return [el.alert.body for el in r.elements.values()
            if el.WhichOneof("type") == "alert" and el.alert.format == el.alert.ERROR]


async def _unreadable(url: str) -> tuple[Run, list[tuple[str, Run, str, Run]]]:
    """Each unreadable state, then a valid edit; (run, URL) after each."""
    runs = []
    async with Session(url, page="Playground") as s:
        first = await s.rerun()
        s.values[first.widgets()["hidden size"][0]] = 3
        start = await s.rerun()
        editor = _editor(start)
        for forged_state in UNREADABLE:
            before = s.query_string
            s.values[editor] = forged_state
            forged = await s.rerun()
            after = s.query_string
            s.values.pop(editor)  # a browser sends only the editors it shows
            editor = _editor(forged) or editor
            s.values[editor] = _state({"1": {"x[0]": 0.5}})
            valid = await s.rerun()
            editor = _editor(valid) or editor
            runs.append((forged_state, forged, before == after, valid))
    return start, runs


@pytest.mark.browser
def test_unreadable_editor_states_are_messages_and_keep_the_weights(server):
    with ThreadPoolExecutor(1) as pool:
        _, runs = pool.submit(asyncio.run, _unreadable(server)).result()
    for forged_state, forged, kept, valid in runs:
        assert not forged.exceptions(), (forged_state, forged.exceptions())
        assert len(forged.charts()) == 2, forged_state  # the plots are drawn
        assert any("does not fit this table" in e for e in _errors(forged)), forged_state
        assert kept, forged_state  # the link (the weights in force) did not change
        assert not valid.exceptions(), (forged_state, valid.exceptions())
        assert len(valid.charts()) == 2 and not _errors(valid)
