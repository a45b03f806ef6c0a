"""A user's work survives a bad input, a page switch and a reload, and can be downloaded."""

import numpy as np

from gru_viz.teaching.urlstate import weights_from_json, weights_to_json
from gru_viz.ui.state import Lab
from tests.app_helpers import PLAYGROUND, STEP, heatmap, open_page, weight_slider


def params(at) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def test_edited_weights_survive_bad_input_page_switch_reload_and_download():
    at = open_page(PLAYGROUND)
    weight_slider(at, "W_cx.0.0").set_value(1.5).run()  # course notation: W_cx is W_in
    at.text_input[0].set_value("0.3; -0.7; 0.9").run()
    edited, shown = at.session_state[Lab.weights.key], heatmap(at, 3)
    assert edited.W_in[0, 0] == np.float32(1.5)

    at.text_input[0].set_value("0.3; oops").run()  # a bad input loses nothing
    assert at.error and at.session_state[Lab.weights.key].equals(edited)

    at.switch_page(STEP).run()  # a page switch loses nothing
    at.switch_page(PLAYGROUND).run()
    assert not at.exception
    assert at.session_state[Lab.weights.key].equals(edited)

    reloaded = open_page(PLAYGROUND, **params(at))  # a reload: a fresh session on the same URL
    assert reloaded.session_state[Lab.weights.key].equals(edited)
    np.testing.assert_array_equal(heatmap(reloaded, 3), shown)

    # the weights can always be downloaded, and the file gives them back exactly
    assert any("Download weights" in b.proto.label for b in at.get("download_button"))
    back, _ = weights_from_json(weights_to_json(edited).encode())
    assert back.equals(edited)


def test_a_reload_during_a_bad_input_shows_the_last_good_one():
    at = open_page(PLAYGROUND)
    at.text_input[0].set_value("0.3; -0.7; 0.9").run()
    shown = heatmap(at, 3)
    at.text_input[0].set_value("0.3; oops").run()
    assert at.error
    np.testing.assert_array_equal(heatmap(at, 3), shown)
    reloaded = open_page(PLAYGROUND, **params(at))
    assert not reloaded.error
    np.testing.assert_array_equal(heatmap(reloaded, 3), shown)
