"""The data the time component gets: every step's numbers equal the core's trace, the
compressed markup gives back each step exactly, and one rounding rule everywhere."""

import re

import numpy as np
import pytest

from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.figures.diagram import UnitStep, cell_svg
from gru_viz.figures.timeline import clock_payload, frames, stepper_payload, unframe
from gru_viz.figures.traces import FIELDS, field_values, step_labels
from gru_viz.teaching.stepmath import equation_html, from_trace, number, tex_html


def test_frames_give_back_every_step():
    steps = [f'<svg><text x="{k}">v = {k * 0.1:.2f}</text><rect width="9"/></svg>'
             for k in range(5)]
    f = frames(steps)
    assert all(unframe(f, t) == s for t, s in enumerate(steps))
    assert '<rect width="9"/>' in "".join(f["parts"])  # shared: sent once
    mixed = ["<b>a</b>", "<b>a</b><i>b</i>"]  # structure differs: sent whole
    assert [unframe(frames(mixed), t) for t in range(2)] == mixed


def test_one_rounding_rule():
    # the same 0.995 computed two ways (c̃ and c) prints alike; no "-0.00"
    assert number(0.9950000001) == number(0.9949999999) == "1.00"
    assert number(-0.001) == "0.00" and number(-0.004, sign=True) == "+0.00"
    assert number(0.125) == "0.13" and number(-0.125) == "-0.13"
    svg = cell_svg(COURSE, UnitStep("a", 0.0, 0.5, 0.5, 0.9950000001, 0.9949999999))
    assert svg.count("+1.00") == 2


def test_tex_html():
    assert tex_html(r"\tilde{c}^{\langle t \rangle}") == "c\u0303<sup>⟨t⟩</sup>"
    assert tex_html(r"W_{ux} x_t + b_{iz}") == "W<sub>ux</sub> x<sub>t</sub> + b<sub>iz</sub>"
    assert tex_html(r"\sigma\left(a\right) \odot \Gamma_u") == "σ(a) ⊙ Γ<sub>u</sub>"
    assert tex_html("<script>") == "&lt;script&gt;"


@pytest.mark.parametrize("H,I,course,reset_after", [(2, 1, True, False), (5, 2, False, True)])
def test_stepper_numbers_equal_the_trace(H, I, course, reset_after):
    nt = COURSE if course else PYTORCH
    model = GRUModel.random(I, H, reset_after=reset_after, seed=H)
    x = np.random.default_rng(0).normal(size=(9, I)) * 2
    cell = run(model, x).layers[0][0]
    w = model.cells[0][0]
    unit = H - 1
    data = stepper_payload(w, cell, nt, step_labels(x), unit, 4)
    assert data["T"] == 9 and data["t0"] == 4 and data["full"] == (H <= 3)
    for t in range(9):
        vals = unframe(data["values"], t)
        for f in FIELDS:
            want = field_values(cell, nt, f)[t, unit]
            got = re.search(rf'data-f="{f}" data-u="{unit}" data-v="([-0-9.e]+)">([^<]+)<', vals)
            assert abs(float(got[1]) - want) < 1e-6 and got[2] == number(want)
            np.testing.assert_allclose(data["series"][FIELDS.index(f)]["y"][t], want, atol=1e-5)
        m = from_trace(w, cell, t, nt)
        eqs = unframe(data["equations"], t)
        for eq in m.equations:
            assert equation_html(eq, None if data["full"] else unit) in eqs
        diagram = unframe(data["diagram"], t)
        assert f"t = {t}" in diagram and number(cell.h[t, unit], sign=True) in diagram


def test_clock_payload_values_follow_the_units():
    model = GRUModel.random(1, 4, seed=1)
    x = np.linspace(-1, 1, 6)[:, None]
    cell = run(model, x).layers[0][0]
    data = clock_payload(cell, COURSE, step_labels(x), [0, 2], 0, [{"key": "k", "style": "band"}])
    assert data["targets"] == [{"key": "k", "style": "band"}]
    html = unframe(data["values"], 5)
    assert 'data-u="2"' in html and 'data-u="1"' not in html
    assert f'data-v="{1 - cell.z[5, 2]:.6f}"' in html  # course: Γu = 1 − z
