"""Links restore the view exactly; hostile links and files give messages, never exceptions."""

import base64
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.core.errors import WeightsError
from gru_viz.core.model import GRUModel
from gru_viz.teaching.presets import COUNTER, LATCH, Preset, extra_presets
from gru_viz.teaching.urlstate import (
    ViewState,
    from_query,
    pack_weights,
    to_query,
    unpack_weights,
    weights_from_json,
    weights_to_json,
)

DEFAULT = ViewState(LATCH.weights, LATCH.text, LATCH.key)


def same_weights(a, b):
    return all(np.array_equal(np.float32(x), np.float32(y))
               for x, y in zip(a.fused().values(), b.fused().values()))


def test_a_preset_travels_as_its_key():
    view = ViewState(COUNTER.weights, "abba", COUNTER.key, COUNTER.vocabulary.symbols,
                     "pytorch", True, 3)
    params = to_query(view)
    assert params == {"p": "counter", "x": "abba", "n": "pytorch", "r": "after", "t": "3"}
    back, problems = from_query(params, DEFAULT)
    assert problems == []
    assert (back.preset, back.vocabulary, back.text, back.notation, back.reset_after, back.step) \
        == ("counter", ("a", "b"), "abba", "pytorch", True, 3)
    assert same_weights(back.weights, COUNTER.weights)


@settings(max_examples=30, deadline=None)
@given(H=st.integers(1, 8), I=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_custom_weights_round_trip(H, I, seed):
    w = GRUModel.random(I, H, seed=seed).cells[0][0]
    params = to_query(ViewState(w, "1", None))
    assert "p" not in params and len(params["w"]) < 2000
    back, problems = from_query(params, DEFAULT)
    assert problems == [] and back.preset is None and same_weights(back.weights, w)
    assert to_query(back) == params  # stable: a reload gives the same link


def test_edited_preset_keeps_its_vocabulary():
    w = COUNTER.weights.replace(b_in=np.array([0.5, 0.0]))
    params = to_query(ViewState(w, "ab", "counter", ("a", "b")))
    assert params["p"] == "counter" and "w" in params
    back, _ = from_query(params, DEFAULT)
    assert back.vocabulary == ("a", "b") and back.weights.b_in[0] == 0.5


@pytest.mark.parametrize("params, fragment", [
    ({"p": "nope"}, "unknown preset"),
    ({"w": "garbage"}, "H.I.data"),
    ({"w": "3.2.!!!"}, "base64"),
    ({"w": "99.1.AAAA"}, "outside"),
    ({"w": "1.1.AAAA"}, "expected 12"),
    ({"w": "1.1." + base64.urlsafe_b64encode(np.full(12, np.nan, "<f4").tobytes()).decode()},
     "NaN"),
    ({"n": "klingon"}, "notation"),
    ({"r": "sideways"}, "reset placement"),
    ({"t": "-3"}, "timestep"),
    ({"t": "9" * 40}, "timestep"),
    ({"t": "¹"}, "timestep"),
    ({"x": "1;" * 5000}, "longer"),
])
def test_malformed_links_fall_back_with_a_message(params, fragment):
    view, problems = from_query(params, DEFAULT)
    assert len(problems) == 1 and fragment in problems[0]
    assert same_weights(view.weights, LATCH.weights)
    assert len(view.text) <= 2000


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from("pwxnrtq"), st.text(max_size=60)))
def test_any_link_decodes_without_raising(params):
    view, problems = from_query(params, DEFAULT)
    assert isinstance(view, ViewState) and all(isinstance(p, str) for p in problems)


def test_json_round_trip():
    data = weights_to_json(COUNTER.weights.replace(reset_after=True), ("a", "b")).encode()
    w, vocab = weights_from_json(data)
    assert w.equals(COUNTER.weights.replace(reset_after=True)) and vocab == ("a", "b")
    assert json.loads(data)["format"] == "gru-viz-weights"


def _doc(**changes):
    doc = json.loads(weights_to_json(LATCH.weights))
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize("data, fragment", [
    (b"\xff\xfe", "not JSON"),
    (b"{not json", "not JSON"),
    (b"[1, 2]", "format"),
    (_doc(format="other"), "format"),
    (_doc(weight_hh=[[1.0]]), "weight_hh has shape"),
    (_doc(bias_ih=[float("nan")] * 6), "NaN"),
    (_doc(bias_hh=["a"] * 6), "numbers"),
    (_doc(vocabulary=["a", "b", "c"]), "vocabulary"),
    (b" " * 300_000, "at most"),
])
def test_bad_weight_files_say_why(data, fragment):
    with pytest.raises(WeightsError, match=fragment):
        weights_from_json(data)


def test_too_big_for_the_playground():
    data = weights_to_json(GRUModel.random(2, 9, seed=0).cells[0][0]).encode()
    with pytest.raises(WeightsError, match="takes 1 to 8"):
        weights_from_json(data)
    with pytest.raises(WeightsError):
        unpack_weights(pack_weights(GRUModel.random(5, 2, seed=0).cells[0][0]))


def test_a_trained_preset_link_brings_its_reset_placement():
    trained = Preset("trained-x", "T", "why", "look", LATCH.weights, LATCH.text, reset_after=True)
    extra_presets.append(lambda: [trained])
    try:
        assert from_query({"p": "trained-x"}, DEFAULT)[0].reset_after is True
        assert from_query({"p": "trained-x", "r": "before"}, DEFAULT)[0].reset_after is False
    finally:
        extra_presets.pop()


def test_weights_json_with_an_empty_input_or_a_string_flag_is_refused():
    import json as _json

    from gru_viz.core.errors import WeightsError
    from gru_viz.teaching.urlstate import weights_from_json

    empty = {"format": "gru-viz-weights", "version": 1, "weight_ih": [[], [], []],
             "weight_hh": [[0.0], [0.0], [0.0]], "bias_ih": [0.0] * 3, "bias_hh": [0.0] * 3}
    with pytest.raises(WeightsError, match="input size 0"):
        weights_from_json(_json.dumps(empty).encode())
    flag = empty | {"weight_ih": [[0.0], [0.0], [0.0]], "reset_after": "false"}
    with pytest.raises(WeightsError, match="must be true or false"):
        weights_from_json(_json.dumps(flag).encode())
