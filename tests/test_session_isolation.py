"""Sessions never see each other's data: AppTest sessions sharing one process (and so its
caches), three websocket sessions on one real server, and the shared caches themselves."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.io.checkpoint import Checkpoint
from gru_viz.ui import explorer_input, explorer_model
from gru_viz.ui.loading import load_cached
from gru_viz.ui.state import Explorer, Lab
from tests.app_helpers import (
    PLAYGROUND,
    charts,
    heatmap,
    open_page,
    page,
    showing,
    upload,
    weight_slider,
)
from tests.helpers import gru, own_format, saved
from tests.ws_client import Session


def ticks(at) -> list[str]:
    return charts(at)[0]["layout"]["xaxis"]["ticktext"]


# --- the playground: two AppTest sessions, interleaved ---------------------------------------

def own_states(at, x: list[float]) -> np.ndarray:
    """(H, T) states of the session's own weights on its own input, by the core."""
    w = at.session_state[Lab.weights.key].replace(
        reset_after=at.session_state[Lab.variant.key] == "after")
    return run(GRUModel(((w,),)), np.array(x)[:, None]).layers[0][0].h.T


def test_playground_sessions_keep_their_own_inputs_and_weights():
    a, b = open_page(PLAYGROUND), open_page(PLAYGROUND)
    default_weights = b.session_state[Lab.weights.key]
    a.text_input[0].set_value("0.1; 0.2; 0.3").run()
    weight_slider(a, "W_cx.0.0").set_value(2.0).run()
    b.text_input[0].set_value("-0.9; 0.9").run()  # B runs after A's edits
    a.run()  # and A again after B's

    assert ticks(a) == ["0.1", "0.2", "0.3"] and ticks(b) == ["-0.9", "0.9"]
    assert a.session_state[Lab.weights.key].W_in[0, 0] == 2.0
    assert b.session_state[Lab.weights.key].equals(default_weights)
    assert weight_slider(b, "W_cx.0.0").value == default_weights.W_in[0, 0]
    for at, x in ((a, [0.1, 0.2, 0.3]), (b, [-0.9, 0.9])):  # each drawn from its own weights
        np.testing.assert_allclose(heatmap(at, 3), own_states(at, x), atol=1e-5)
    assert a.query_params != b.query_params  # each URL carries its own state


def test_a_bad_input_in_one_playground_session_leaves_the_other_alone():
    a, b = open_page(PLAYGROUND), open_page(PLAYGROUND)
    b.text_input[0].set_value("0.4; 0.5").run()
    a.text_input[0].set_value("0.5; abc").run()
    b.run()
    assert a.error and not b.error
    assert ticks(b) == ["0.4", "0.5"]


# --- the explorer: two uploads ----------------------------------------------------------------

def test_explorer_sessions_each_see_only_their_own_upload():
    a = upload(page(), "alpha.pt", own_format())
    b = upload(page(), "beta.pt", saved(gru(I=2, H=7).state_dict()))
    a.run()
    assert "alpha.pt" in showing(a) and "beta.pt" not in showing(a)
    assert "beta.pt" in showing(b) and "alpha.pt" not in showing(b)
    assert "hidden size 7" in showing(b) and "hidden size 7" not in showing(a)
    # a failed upload in A shows only in A; B keeps its model and shows no error
    a.get("file_uploader")[0].set_value(("bad.pt", b"junk", "application/octet-stream")).run()
    b.run()
    assert a.error and "Still showing alpha.pt" in " ".join(e.value for e in a.error)
    assert not b.error and "beta.pt" in showing(b)


def test_the_same_file_uploaded_twice_is_loaded_once_and_shared_read_only():
    data = own_format()
    a, b = upload(page(), "one.pt", data), upload(page(), "one.pt", data)
    ckpt_a = a.session_state[Explorer.model.current.key].ckpt
    ckpt_b = b.session_state[Explorer.model.current.key].ckpt
    assert ckpt_a is ckpt_b  # one cached object, keyed by content: it must be immutable
    assert_read_only(ckpt_a)


# --- the shared caches hold immutable, content-keyed data ------------------------------------

def assert_read_only(ckpt: Checkpoint) -> None:
    arrays = [*ckpt.tensors.values(), ckpt.embedding, ckpt.head_weight, ckpt.head_bias]
    for cells in ckpt.model.cells:
        for w in cells:
            arrays += [v for v in vars(w).values() if isinstance(v, np.ndarray)]
    arrays = [a for a in arrays if a is not None]
    assert arrays and not any(a.flags.writeable for a in arrays)
    with pytest.raises(ValueError, match="read-only"):
        arrays[0][...] = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ckpt.model = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        ckpt.tensors["extra"] = arrays[0]  # type: ignore[index]


def test_cached_checkpoint_is_keyed_by_content_and_read_only():
    one, other = own_format(), saved(gru(I=2, H=7).state_dict())
    first = load_cached(hashlib.sha256(one).hexdigest(), one, "x.pt")
    again = load_cached(hashlib.sha256(one).hexdigest(), one, "x.pt")
    different = load_cached(hashlib.sha256(other).hexdigest(), other, "x.pt")
    assert first is again and different is not first  # same name, other content: not shared
    assert different.model.hidden_size == 7
    assert_read_only(first)
    assert_read_only(different)


def test_cached_trace_cannot_be_changed_by_the_session_that_got_it():
    data = own_format()
    digest = hashlib.sha256(data).hexdigest()
    loaded = explorer_model.Loaded(load_cached(digest, data, "t.pt"), "t.pt",
                                   f"{digest}:")
    x = np.eye(loaded.ckpt.model.input_size)[[0, 1, 2, 1]]
    first = explorer_input.make_run(loaded, x, None, None)
    h = first.trace.layers[0][0].h
    if h.flags.writeable:  # st.cache_data hands each caller its own copy: write into it
        h[...] = 42.0
    else:
        with pytest.raises(ValueError, match="read-only"):
            h[...] = 42.0
    again = explorer_input.make_run(loaded, x, None, None)
    assert not np.any(again.trace.layers[0][0].h == 42.0)
    assert np.all(np.abs(again.trace.layers[0][0].h) < 1)


# --- a real server: three websocket sessions at once -----------------------------------------

def own_rows(s: int, i: int) -> list[str]:
    return [str(s + 2), str(i), str(-(s + 2))]


async def _three_sessions(url: str) -> tuple[dict[int, list[list[list[str]]]], set[str]]:
    """Each of 3 sessions types its own inputs, concurrently, 3 times; then reruns once
    more without changes. Returns what each session's charts showed at each turn, and the
    session ids the server gave them."""
    seen: dict[int, list[list[list[str]]]] = {}
    ids: set[str] = set()

    async def one(s: int) -> None:
        async with Session(url, page="Playground") as session:
            first = await session.rerun()
            widget = next(wid for label, (wid, _) in first.widgets().items()
                          if label.startswith("Input sequence"))
            seen[s] = []
            for i in range(3):
                session.values[widget] = "; ".join(own_rows(s, i))
                run = await session.rerun()
                assert run.status == 0 and not run.exceptions(), run.exceptions()
                seen[s].append(run.tick_labels())
            seen[s].append((await session.rerun()).tick_labels())  # state kept by the server
            ids.add(session.session_id)

    await asyncio.wait_for(asyncio.gather(*(one(s) for s in range(3))), timeout=90)
    return seen, ids


@pytest.mark.browser
def test_three_real_sessions_on_one_server_see_only_their_own_input(server):
    # A thread of its own: Playwright's sync API (other browser tests in this process) keeps
    # an event loop running on the main thread, where asyncio.run would refuse to start.
    with ThreadPoolExecutor(1) as pool:
        seen, ids = pool.submit(asyncio.run, _three_sessions(server)).result()
    assert len(ids) == 3 and "" not in ids  # three sessions, not one shared
    for s, turns in seen.items():
        expected = [own_rows(s, i) for i in (0, 1, 2, 2)]
        for labels, own in zip(turns, expected):
            assert labels and all(t == own for t in labels), (s, labels, own)
