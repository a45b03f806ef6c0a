"""Issue 17, "errors never stick": an input that fails (to parse or to run) shows its message
over the last good view, the input box is still drawn, and the next good input works."""

import json

import numpy as np
import pytest

from gru_viz.core.errors import WeightsError
from gru_viz.teaching.urlstate import MAX_TEXT, weights_from_json
from gru_viz.ui.state import Explorer, Lab, Playground, Slot
from tests.app_helpers import PLAYGROUND, STEP, heatmap, open_page, page, upload
from tests.helpers import own_format


def test_an_input_over_the_step_limit_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "10")
    at = open_page(PLAYGROUND)
    before = heatmap(at, 3)
    at.text_input[0].set_value("; ".join(["1"] * 11)).run()   # parses, then run() refuses it
    assert not at.exception, [e.value for e in at.exception]
    assert any("at most 10" in e.value for e in at.error)
    assert len(at.text_input) == 1  # the box is drawn, so the user can fix it
    np.testing.assert_array_equal(heatmap(at, 3), before)  # the last good view
    at.switch_page(STEP).run()  # the other page sharing the input is not broken either
    assert not at.exception and any("at most 10" in e.value for e in at.error)
    at.switch_page(PLAYGROUND).run()
    at.text_input[0].set_value("1; 0").run()
    assert not at.exception and not at.error and heatmap(at, 3).shape == (2, 2)


def test_a_huge_typed_input_is_refused_before_parsing():
    at = open_page(PLAYGROUND)
    box = at.text_input[0]
    assert box.proto.max_chars == MAX_TEXT  # the browser stops typing there
    box.set_value("1;" * 20_001).run()  # a forged widget value: Streamlit cuts it
    assert not at.exception and len(at.session_state[Lab.text.key]) <= MAX_TEXT
    at.session_state[Lab.text.key] = "1;" * 20_001  # however the text got in, it is bounded
    at.run()
    assert not at.exception
    assert any(f"at most {MAX_TEXT}" in e.value for e in at.error)
    assert heatmap(at, 3).shape[1] == 1000  # the last good input (cut by Streamlit) shown


def test_the_fallback_input_itself_failing_falls_back_to_the_default(monkeypatch):
    at = open_page(PLAYGROUND)
    at.text_input[0].set_value("; ".join(["1"] * 9)).run()  # last good: 9 steps
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "8")  # an operator lowers the limit meanwhile
    at.text_input[0].set_value("; ".join(["1"] * 12)).run()
    assert not at.exception and at.error
    assert heatmap(at, 3).shape[1] == 8


def test_a_deeply_nested_weights_json_is_a_weights_error():
    deep = b'{"format": "gru-viz-weights", "weight_ih": ' + b"[" * 99_000 + b"]" * 99_000 + b"}"
    with pytest.raises(WeightsError):
        weights_from_json(deep)
    doc = {"format": "gru-viz-weights", "weight_ih": 1, "weight_hh": 1, "bias_ih": 1,
           "bias_hh": 1}
    text = json.dumps(doc).replace('"weight_ih": 1', '"weight_ih": ' + "[" * 5000 + "]" * 5000)
    with pytest.raises(WeightsError):
        weights_from_json(text.encode())


def test_forged_data_editor_edits_are_a_message(monkeypatch):
    """The editor's state comes from the browser; its callback must not raise on any shape."""
    from gru_viz.ui import weights_editor as we

    at = open_page(PLAYGROUND)
    at.number_input(key="pg.hidden").set_value(3).run()
    w = at.session_state[Lab.weights.key]
    fake = {Lab.weights.key: w, "notation": "pytorch"}  # the table of W_iz… (course: W_ux = −W_iz)
    monkeypatch.setattr(we.st, "session_state", fake)
    forged = [{"99": {"x[0]": 1.0}}, {"-1": {"x[0]": 1.0}}, {"0": {"nope": 1.0}},
              {"0": {"x[0]": "abc"}}, {"zero": {"x[0]": 1.0}}, {"0": ["x[0]"]},
              {"0": {"x[0]": [1, 2]}}, {"0": {"x[0]": 1e400}}, [1, 2], None]
    for edits in forged:
        fake["k"] = {"edited_rows": edits}
        we._edit("z", Slot("k"))  # no exception
        assert fake[Lab.weights.key] is w
        assert fake.pop(Playground.edit_problem.key, None) or edits == {"0": {"x[0]": 1e400}}
    fake["k"] = {"edited_rows": {"1": {"x[0]": 2.5}}}
    we._edit("z", Slot("k"))
    assert fake[Lab.weights.key].W_iz[1, 0] == 2.5


def test_explorer_text_is_bounded_before_parsing(monkeypatch):
    """15 MB of text used to be encoded (2.6 GB) before the step limit cut it."""
    from gru_viz.io.inputs import first_rows
    from gru_viz.ui import explorer_input as ei

    rows, cut = first_rows("1;" * 5_000_000, 100)
    assert rows == ";".join(["1"] * 100) and cut
    assert first_rows("1; ;2;\n3;", 3) == ("1;2;3", False)
    assert ei.max_chars("text", 20_000) == 80_000 and ei.max_chars("vectors", 20_000) <= 400_000
    calls = []
    real = ei.checkpoint_input
    monkeypatch.setattr(ei, "checkpoint_input",
                        lambda ckpt, **kw: calls.append(kw) or real(ckpt, **kw))
    monkeypatch.setenv("GRUVIZ_MAX_STEPS", "50")
    at = upload(page(), "own.pt", own_format())
    assert at.text_area[0].proto.max_chars == 200
    model = at.session_state[Explorer.model.current.key].key
    at.session_state[Explorer.input(model).key] = "([])" * 100_000
    at.run()
    assert not at.exception
    assert all(len(kw.get("text", "")) <= 50 for kw in calls)
    assert any("the first 50 are run" in i.value for i in at.info)


def test_a_very_wide_model_gets_no_megabyte_default_text():
    """Input size 100,000: the default input was 40 rows of text (69 MB, 19 s a rerun)."""
    import torch
    from safetensors.torch import save as st_save

    torch.manual_seed(0)
    wide = torch.nn.GRU(100_000, 2, batch_first=True)
    at = upload(page(), "wide.safetensors", st_save({k: v.contiguous() for k, v in
                                                     wide.state_dict().items()}))
    assert not at.exception
    assert at.text_area[0].value == ""
    assert any("An empty box runs 40 steps" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) >= 1
