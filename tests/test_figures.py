"""The figures carry the recorded numbers, on fixed colour ranges and one shared time axis."""

import pathlib
from xml.etree import ElementTree

import numpy as np
import plotly.graph_objects as go
import pytest

from gru_viz.analysis.memory import retention_to_end
from gru_viz.core.engine import run
from gru_viz.core.model import GRUModel
from gru_viz.core.notation import COURSE, PYTORCH
from gru_viz.figures.diagram import UnitStep, cell_svg
from gru_viz.figures.dynamics import (
    gradient_heatmap,
    gradient_lines,
    retention_heatmap,
    split_heatmaps,
)
from gru_viz.figures.traces import gate_heatmaps, heatmap_spec, lines_spec, unit_lines


@pytest.fixture
def cell(rng):
    return run(GRUModel.random(2, 3, seed=4), rng.normal(size=(12, 2))).layers[0][0]


@pytest.mark.parametrize("notation", [COURSE, PYTORCH])
def test_heatmaps_hold_the_trace_on_one_time_axis(cell, notation):
    fig = heatmap_spec(cell, notation, tokens=list("abcdefghijkl"))
    maps = fig["data"]
    assert [m["type"] for m in maps] == ["heatmap"] * 4
    assert {m["xaxis"] for m in maps} == {"x"}  # shared time axis
    expected = [notation.update_values(cell.z), cell.r, cell.n, cell.h]
    for m, values in zip(maps, expected):
        assert m["z"].dtype == np.float32
        np.testing.assert_allclose(m["z"], values.T, atol=1e-6)  # units × time
        assert "t = %{x:d}" in m["hovertemplate"] and "unit %{y}" in m["hovertemplate"]
        assert m["customdata"][0][3] == "d"
    lay = fig["layout"]
    assert (lay["coloraxis"]["cmin"], lay["coloraxis"]["cmax"]) == (0, 1)
    assert (lay["coloraxis2"]["cmin"], lay["coloraxis2"]["cmax"], lay["coloraxis2"]["cmid"]) \
        == (-1, 1, 0)
    assert [m["coloraxis"] for m in maps] == ["coloraxis"] * 2 + ["coloraxis2"] * 2
    assert lay["xaxis"]["ticktext"][:3] == ["a", "b", "c"]
    assert notation.label("z") in [a["text"] for a in lay["annotations"]]


def test_course_update_gate_is_one_minus_z(cell):
    course = heatmap_spec(cell, COURSE)["data"][0]["z"]
    torch = heatmap_spec(cell, PYTORCH)["data"][0]["z"]
    np.testing.assert_allclose(course, 1 - torch, atol=1e-6)


def test_numeric_inputs_label_the_steps(cell):
    fig = heatmap_spec(cell, PYTORCH)
    first = ", ".join(f"{v:.3g}" for v in cell.x[0])
    assert fig["layout"]["xaxis"]["ticktext"][0] == first
    assert fig["data"][0]["customdata"][1][0] == first


def test_window_and_column_cap(rng):
    c = run(GRUModel.random(1, 4, seed=1), rng.normal(size=(500, 1))).layers[0][0]
    fig = heatmap_spec(c, PYTORCH, window=(100, 300), max_cols=50)
    m = fig["data"][3]
    assert list(m["x"]) == list(range(100, 300, 4))
    np.testing.assert_allclose(m["z"], c.h[100:300:4].T, atol=1e-6)
    assert "one step in 4 drawn" in fig["layout"]["xaxis"]["title"]["text"]
    big = run(GRUModel.random(1, 64, seed=1), rng.normal(size=(400, 1))).layers[0][0]
    assert heatmap_spec(big, PYTORCH)["data"][0]["customdata"] is None  # payload cap


def test_unit_lines(cell):
    fig = lines_spec(cell, COURSE, units=[0, 2], step=5)
    assert len(fig["data"]) == 4 * 2
    first = fig["data"][0]
    np.testing.assert_allclose(first["y"], 1 - cell.z[:, 0], atol=1e-6)
    assert first["y"].dtype == np.float32
    assert fig["layout"]["yaxis"]["range"] == [-0.05, 1.05]
    assert fig["layout"]["yaxis3"]["range"] == [-1.05, 1.05]
    assert [s["x0"] for s in fig["layout"]["shapes"]] == [5] * 4
    assert sum(t["showlegend"] for t in fig["data"]) == 2


def _t_marks(layout: dict, xref: str) -> dict[float, str]:
    return {a["x"]: a["text"] for a in layout.get("annotations", [])
            if a.get("name") == "t" and a["xref"] == xref}


def test_step_numbers_under_the_inputs(cell):
    """Where the ticks show the inputs, t is written under each one (the lesson's figures)."""
    lines = lines_spec(cell, COURSE, units=[0], show_t=True)["layout"]
    for ax in ("x3", "x4"):  # the lower row
        vals = lines[f"xaxis{ax[1:]}"]["tickvals"]
        assert _t_marks(lines, ax) == {t: str(t) for t in vals}
    assert _t_marks(lines, "x") == {}
    assert _t_marks(lines_spec(cell, COURSE, units=[0])["layout"], "x3") == {}
    ret = retention_heatmap(retention_to_end(cell), [f"{v:.1f}" for v in cell.x[:, 0]],
                            COURSE, show_t=True).to_dict()["layout"]
    assert _t_marks(ret, "x") == {t: str(t) for t in ret["xaxis"]["tickvals"]}
    heat = heatmap_spec(cell, COURSE, input_track=True)["layout"]
    assert _t_marks(heat, "x") == {t: str(t) for t in heat["xaxis"]["tickvals"]}


def test_figures_are_valid_plotly(cell):
    assert isinstance(gate_heatmaps(cell, COURSE), go.Figure)
    fig = unit_lines(cell, PYTORCH, [1])
    assert isinstance(fig, go.Figure) and len(fig.data) == 4


def test_cell_diagram_draws_the_step():
    svg = cell_svg(PYTORCH, UnitStep("a", h_prev=0.5, r=0.25, z=0.75, n=-0.5, h=0.25))
    root = ElementTree.fromstring(svg)  # well-formed
    ns = "{http://www.w3.org/2000/svg}"
    widths = [float(p.get("stroke-width")) for p in root.iter(f"{ns}path")]
    assert widths[:3] == [2 + 16 * 0.75, 2 + 16 * 0.25, 2 + 16 * 0.25]  # kept, written, reset
    angles = [ln.get("transform") for ln in root.iter(f"{ns}line")]
    assert angles[0] == "rotate(22.5 380 70)"  # keep valve 75 % open, pipe horizontal
    text = "".join(root.itertext())
    assert "z = 0.75" in text and "1 − z = 0.25" in text and "+0.25" in text
    assert "Γu = 0.25" in "".join(ElementTree.fromstring(cell_svg(
        COURSE, UnitStep("a", 0.5, 0.25, 0.75, -0.5, 0.25))).itertext())


def test_home_diagram_asset_is_ours():
    asset = pathlib.Path(__file__).resolve().parents[1] / "assets" / "gru_cell.svg"
    # the course's own equations: reset gate before the product
    assert asset.read_text().strip() == cell_svg(COURSE, reset_after=False, background="#ffffff",
                                                 title="A GRU unit (course notation)")


def test_coloured_text_puts_sep_between_tokens():
    from gru_viz.figures.textcolor import coloured_text

    scale = [[0, "#000000"], [1, "#ffffff"]]
    spaced = coloured_text(["12", "3"], np.array([0.0, 1.0]), 0, 1, scale, sep=" ")
    joined = coloured_text(["12", "3"], np.array([0.0, 1.0]), 0, 1, scale)
    assert "</span> <span" in spaced and "</span><span" in joined
    assert spaced.count("<span") == 2


def test_dynamics_hovers_say_t_as_a_number_on_ticked_steps(cell):
    """Plotly's hover shows a ticked step's tick text for ``%{x}``: "t = (" instead of t = 3."""
    labels = list("(()[])[]()()")
    figs = [retention_heatmap(retention_to_end(cell), labels, PYTORCH),
            *split_heatmaps(cell.h, cell.h, labels, COURSE),
            gradient_heatmap([np.abs(cell.h[:, 0])], ["m"], labels, "g"),
            gradient_lines([np.abs(cell.h[:, 0])], ["m"], labels, "g")]
    for fig in figs:
        assert fig.layout.xaxis.ticktext  # the steps are labelled by their inputs
        for trace in fig.data:
            assert "t = %{x:d}" in trace.hovertemplate
