"""The example notebook, executed headless (nbclient) and converted to HTML (nbconvert), as CI
would: every figure cell shows both Plotly's interactive output and a PNG, summaries are short,
the coloured text is HTML, the app's address is printed and nothing is started (issue 14).

Cells are tagged in the notebook's metadata: "figure", "summary", "text", "open".
"""

import base64
import os
import pathlib
import re

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from tests.browser import require_browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "gru_viz_in_a_notebook.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def test_the_stored_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for c in nb.cells:
        if c.cell_type == "code":
            assert c.outputs == [] and c.execution_count is None, c.source[:60]
    assert "sys.path" not in "".join(c.source for c in nb.cells)  # importable as installed
    assert len(tagged(nb, "figure")) >= 4 and tagged(nb, "text") and tagged(nb, "open")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook run by nbclient in its own folder (as Jupyter runs it), with the package
    importable as an install makes it, the app not started and hand-overs in a temp folder."""
    require_browser()  # kaleido draws the PNGs with Debian's chromium
    assert "python3" in KernelSpecManager().find_kernel_specs()  # ipykernel's, on any machine
    folder = tmp_path_factory.mktemp("open")
    env = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "GRUVIZ_LAUNCH": "0", "GRUVIZ_OPEN_DIR": str(folder), "GRUVIZ_NOTEBOOK_PNG": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb, folder


def _displays(cell):
    return [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]


def test_every_figure_cell_shows_interactive_and_static(executed):
    nb, _ = executed
    for cell in tagged(nb, "figure"):
        outs = _displays(cell)
        assert len(outs) == (2 if '"all"' in cell.source else 1), cell.source
        for o in outs:
            assert PLOTLY in o.data and "image/png" in o.data, (cell.source, list(o.data))
            assert o.data[PLOTLY]["data"], cell.source
            png = base64.b64decode(o.data["image/png"])
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
            assert "text/html" not in o.data  # nbconvert would take it over the image
            assert len(o.data["text/plain"]) < 200


def test_summaries_are_short(executed):
    nb, _ = executed
    for cell in tagged(nb, "summary"):
        (o,) = _displays(cell)
        text, html = o.data["text/plain"], o.data["text/html"]
        assert len(text.splitlines()) <= 16 and len(text) < 1500, text
        assert len(html) < 5000 and "array(" not in text
        assert len(re.findall(r"\d\.\d{3}", text + html)) < 3, text  # no numbers dumped


def test_coloured_text_and_the_apps_address(executed):
    nb, folder = executed
    brackets, recorded = tagged(nb, "text")
    (o,) = _displays(brackets)
    assert o.data["text/html"].count("<span") == 24 and "unit 15" in o.data["text/html"]
    assert o.data["text/plain"].splitlines()[-1] == "([()[]])(([[]])[([])])(("
    (o,) = _displays(recorded)
    assert o.data["text/html"].count("<span") == len("the gates of a gru")
    (cell,) = tagged(nb, "open")
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    token = re.search(r"http://127\.0\.0\.1:8501/Explorer\?open=([0-9a-f]{32})", printed)
    assert token and "launch=False" in printed
    assert [p.name for p in folder.iterdir() if p.name.startswith(token.group(1))]
    assert not [c for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]


def test_the_html_conversion_shows_every_figure_as_an_image(executed):
    nb, _ = executed
    body, _ = HTMLExporter().from_notebook_node(nb)
    figures = sum(len(_displays(c)) for c in tagged(nb, "figure"))
    assert body.count('src="data:image/png;base64,') >= figures
    assert "cdn.plot.ly" not in body and "plotly-latest" not in body
    assert "<table>" in body  # the summaries' HTML
