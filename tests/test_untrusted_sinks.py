"""Issue 17: no string reaches Streamlit's Markdown unescaped, by construction.

Streamlit renders Markdown (images that make the browser fetch a URL, links, colours) in
``st.markdown``, captions, alerts, titles, and every widget's label, ``help`` and radio
options. This test reads the UI code (pages/, app.py, gru_viz/ui/) and fails on any such
argument that is not provably safe: a string literal, ``markdown_text(...)`` (untrusted text
shown literally), ``md(...)``/``authored(...)`` from gru_viz.core.untrusted, or an f-string
whose every value is one of those or is formatted as a number (``{n:d}``, ``{v:.3g}``).
"""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "gru_viz" / "ui").glob("*.py")])
# Calls whose first argument (or ``body``/``label``) is rendered as Markdown.
TEXT_SINKS = {"markdown", "caption", "error", "warning", "info", "success", "toast", "title",
              "header", "subheader", "exception", "expander", "metric", "popover", "page_link",
              "button", "download_button", "checkbox", "toggle", "radio", "selectbox",
              "multiselect", "slider", "select_slider", "text_input", "text_area",
              "number_input", "file_uploader", "link_button", "color_picker", "date_input",
              "pills", "segmented_control", "feedback", "status", "form_submit_button"}
SAFE_CALLS = {"markdown_text", "md", "authored"}
NUMERIC_SPEC = re.compile(r"^[<>^=]?[+\- ]?#?0?\d*[,_]?(\.\d+)?[bcdeEfFgGnoxX%]$")


def _safe(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, int, float)) or node.value is None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "join":
        return _safe(node.func.value) and all(_safe(a) for a in node.args)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        return name in SAFE_CALLS
    if isinstance(node, ast.JoinedStr):
        return all(_safe(v) for v in node.values)
    if isinstance(node, ast.FormattedValue):
        if node.format_spec is not None:
            spec = "".join(v.value for v in node.format_spec.values
                           if isinstance(v, ast.Constant))
            if NUMERIC_SPEC.match(spec):
                return True
        return _safe(node.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return _safe(node.left) and _safe(node.right)
    if isinstance(node, ast.IfExp):
        return _safe(node.body) and _safe(node.orelse)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _safe(node.elt)
    return False


def _label(call: ast.Call) -> list[ast.AST]:
    """The Markdown-rendered arguments of a sink call."""
    out = [call.args[0]] if call.args and _name(call) != "page_link" else []  # a path
    out += [k.value for k in call.keywords if k.arg in ("body", "label", "help", "value")
            and not (k.arg == "value" and _name(call) not in ("metric",))]
    return out


def _name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def unsafe_sinks() -> list[str]:
    found = []
    for path in FILES:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _name(node) not in TEXT_SINKS:
                continue
            args = _label(node)
            if _name(node) == "radio":  # radio options are Markdown too
                for k in node.keywords:
                    if k.arg == "format_func" and isinstance(k.value, ast.Lambda):
                        args.append(k.value.body)
            for a in args:
                if not _safe(a):
                    found.append(f"{path.relative_to(ROOT)}:{a.lineno}: {ast.unparse(a)[:70]}")
    return found


def test_every_markdown_sink_gets_escaped_or_literal_text():
    assert unsafe_sinks() == []


def test_figures_reach_the_page_only_through_the_escaping_chart():
    """``gru_viz.ui.charts.chart`` HTML-escapes a figure's data strings (ticks, hover data,
    names, text marks); a direct ``st.plotly_chart`` would skip that."""
    direct = [f"{p.relative_to(ROOT)}:{n.lineno}" for p in FILES if p.name != "charts.py"
              for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.Call)
              and _name(n) == "plotly_chart"]
    assert direct == []


def test_raw_html_is_shown_only_where_reviewed():
    """``unsafe_allow_html`` and ``st.html`` bypass Markdown escaping: only these call sites,
    each of which escapes every string it draws (cell_svg, coloured_text), or is a constant
    (the teaching pages' CSS in gru_viz/ui/teaching.py; the frame's and the lesson's CSS)."""
    reviewed = {("app.py", "markdown"), ("gru_viz/ui/explorer_views.py", "html"),
                ("gru_viz/ui/teaching.py", "html"),
                ("gru_viz/ui/page.py", "markdown"),  # static CSS constants (issue 15)
                ("gru_viz/ui/lesson.py", "markdown")}  # static CSS (issue 15)
    found = set()
    for p in FILES:
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.Call) and (_name(n) == "html" or any(
                    k.arg == "unsafe_allow_html" for k in n.keywords)) and not (
                    n.args and isinstance(n.args[0], ast.Constant)):  # a literal is reviewed
                found.add((str(p.relative_to(ROOT)), _name(n)))
    assert found <= reviewed, found - reviewed


def test_escaped_figures_keep_templates_and_escape_data():
    import numpy as np

    from gru_viz.figures.safe import escaped

    spec = {"data": [{"type": "heatmap", "z": np.zeros((1, 2)), "x": np.arange(2),
                      "customdata": [["<b>x</b>", "a"]], "name": "<span style='x'>",
                      "hovertemplate": "t = %{x}<br>%{customdata}<extra></extra>"}],
            "layout": {"xaxis": {"ticktext": ["<img src=x>", "\u202eb"], "tickvals": [0, 1]},
                       "title": {"text": "gates<br>of a GRU"}}}
    out = escaped(spec)
    assert out["data"][0]["customdata"] == [["&lt;b&gt;x&lt;/b&gt;", "a"]]
    assert out["data"][0]["name"].startswith("&lt;span")
    assert out["data"][0]["hovertemplate"] == spec["data"][0]["hovertemplate"]
    assert out["layout"]["xaxis"]["ticktext"] == ["&lt;img src=x&gt;", "&lt;U+202E&gt;b"]
    assert out["layout"]["title"]["text"] == "gates<br>of a GRU"
    assert out["data"][0]["x"] is spec["data"][0]["x"]  # numbers untouched, not copied
