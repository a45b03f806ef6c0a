"""A figure spec in the plain form Plotly sends to the browser, made without a ``go.Figure``.

``go.Figure(spec).to_dict()`` deep-copies the spec and the layout template (the theme's nested
dicts) and walks both to encode arrays, through narwhals' type checks for every array: 12-40
ms for one Playground chart, most of a classroom interaction's server time. ``plain`` gives
the same dict (same keys and values, arrays in the same base64 form) in a fraction of that:
the spec's containers are copied once, NumPy arrays encoded directly, and the template made
once per name.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import (
    is_homogeneous_array,
    is_skipped_key,
    plotlyjsShortTypes,
    to_typed_array_spec,
)

from gru_viz.figures.safe import escaped

_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=8)
def _template(name: str) -> dict:
    """The layout template Plotly puts into a new figure while ``name`` is the default
    template (shared and read-only: callers only serialise it)."""
    return go.Figure().to_dict()["layout"].get("template", {})


def _narrowed(a: np.ndarray) -> np.ndarray:
    """64-bit integers in the narrowest type that holds them, as Plotly sends them (Plotly.js
    reads no 64-bit integers; those that need 64 bits stay as they are)."""
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8 and a.size:
        lo, hi = a.min(), a.max()
        for t in ((np.int8, np.int16, np.int32) if a.dtype.kind == "i"
                  else (np.uint8, np.uint16, np.uint32)):
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                return a.astype(t)
    return a


def _array(a: Any) -> Any:
    """Plotly's typed-array spec of an array (``to_typed_array_spec``), made directly for the
    NumPy arrays of a type Plotly.js reads (its generic checks cost ~0.4 ms an array)."""
    if isinstance(a, np.ndarray) and a.size:
        if not a.dtype.isnative:  # else left to Plotly's JSON: orjson writes wrong numbers
            a = a.astype(a.dtype.newbyteorder("="))
        a = _narrowed(a)
        if str(a.dtype) in plotlyjsShortTypes:
            a = np.ascontiguousarray(a)
            out = {"dtype": plotlyjsShortTypes[str(a.dtype)],
                   "bdata": base64.b64encode(a).decode("ascii")}
            if a.ndim > 1:
                out["shape"] = str(a.shape)[1:-1]
            return out
    return to_typed_array_spec(a)


def _value(key: Any, v: Any) -> Any:
    """A dict's value as ``to_dict`` leaves it: arrays encoded (not under the keys Plotly
    skips), containers copied."""
    if isinstance(v, _SCALARS):
        return v
    if is_skipped_key(key):
        return v
    if isinstance(v, np.ndarray) or (not isinstance(v, (dict, list, tuple))
                                     and is_homogeneous_array(v)):
        return _array(v)
    return _walk(v)


def _walk(v: Any) -> Any:
    """As ``to_dict``'s deep copy and ``convert_to_base64`` (which encodes a dict's array
    values only; arrays directly in a list stay arrays)."""
    if isinstance(v, dict):
        return {k: _value(k, a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return [_walk(a) for a in v]
    return v


def _props(d: dict) -> dict:
    """A trace's or the layout's properties: one set to None is unset, as in a Figure."""
    return {k: _value(k, v) for k, v in d.items() if v is not None}


def plain(spec: dict) -> dict:
    """``go.Figure(spec, _validate=False).to_dict()`` for a spec of plain data and arrays."""
    out = {"data": [_props(t) for t in spec.get("data", [])],
           "layout": _props(spec.get("layout", {}))}
    if pio.templates.default is not None and "template" not in out["layout"]:
        out["layout"]["template"] = _template(pio.templates.default)
    if spec.get("frames"):
        out["frames"] = _walk(spec["frames"])
    return out


class _Plain(go.Figure):
    """A stand-in for the Figure whose ``to_dict`` is ``data``: st.plotly_chart reads a Figure
    only through ``to_dict``, so the Figure itself is never built (an empty one costs ~1 ms)."""

    def __init__(self, data: dict):
        self._plain = data

    def to_dict(self) -> dict:
        return self._plain


def page_figure(spec: dict | go.Figure) -> go.Figure:
    """What ``gru_viz.ui.charts.chart`` hands st.plotly_chart: the spec with its data strings
    HTML-escaped (``figures.safe.escaped``), as the plain dict Plotly would send (``plain``).
    Validating a dict property by property, or converting a Figure (a copy of it and of its
    template), costs more than the whole rest of a rerun at teaching sizes; the specs are
    validated in the tests (``gate_heatmaps``/``unit_lines`` build checked Figures)."""
    return _Plain(plain(escaped(spec)))


def json_figure(figure: str) -> go.Figure:
    """A ``figure_json`` (its strings escaped already) as ``page_figure`` hands it to
    st.plotly_chart."""
    return _Plain(json.loads(figure))


def figure_json(spec: dict | go.Figure) -> str:
    """The spec with its data strings HTML-escaped, as the JSON plotly.js reads (arrays in the
    same typed form as ``plain``), without a template: for ``gru_viz.ui.charts.chart_in_place``,
    whose chart takes its colours from the app's theme in the browser (and plays no frames:
    a spec's frames are not sent)."""
    fig = escaped(spec)
    return json.dumps({"data": [_props(t) for t in fig["data"]],
                       "layout": _props(fig["layout"])}, allow_nan=False, separators=(",", ":"),
                      default=_listed)


def _listed(v: Any) -> Any:
    """What Plotly's JSON encoder writes for the NumPy values ``json`` cannot: a scalar as its
    number, an array left in a list (``plain`` encodes only a dict's arrays) as a list."""
    if isinstance(v, (np.generic, np.ndarray)):
        return v.tolist()
    raise TypeError(f"{type(v).__name__} is not JSON serialisable")
