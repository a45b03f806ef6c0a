"""A minimal Streamlit client speaking the browser's websocket protocol (asyncio, `websockets`),
and a `streamlit run app.py` server on a free loopback port to point it at.

One `Session` is one browser tab: it connects to ``/_stcore/stream`` with the subprotocol
"streamlit", sends a ``BackMsg.rerun_script`` (a ``ClientState``: query string, page, every
widget value it holds, as the frontend does) and collects the ``ForwardMsg`` deltas until
``script_finished``. Used by the session-isolation test and by benchmarks/load_test.py.
Targets only the server it is given; callers keep to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

WidgetValue = str | bool | int | float | list[float]


@dataclass
class Run:
    """What one script run rendered, keyed by delta path, and how long it took."""

    elements: dict[tuple[int, ...], Element] = field(default_factory=dict)
    fragments: dict[tuple[int, ...], str] = field(default_factory=dict)  # path -> fragment id
    status: int = -1  # ForwardMsg.ScriptFinishedStatus; -1 while unfinished
    seconds: float = 0.0

    def widgets(self) -> dict[str, tuple[str, str]]:
        """label -> (widget id, element type) of every widget drawn in this run."""
        found = {}
        for el in self.elements.values():
            kind = el.WhichOneof("type")
            inner = getattr(el, kind)
            if hasattr(inner, "id") and hasattr(inner, "label") and inner.id:
                found[inner.label] = (inner.id, kind)
        return found

    def fragment_of(self, widget_id: str) -> str:
        """The id of the st.fragment that drew this widget ('' outside any fragment): a
        browser reruns only that fragment when the widget changes."""
        for path, el in self.elements.items():
            if getattr(getattr(el, el.WhichOneof("type")), "id", None) == widget_id:
                return self.fragments.get(path, "")
        raise LookupError(widget_id)

    def exceptions(self) -> list[str]:
        return [el.exception.message for el in self.elements.values()
                if el.WhichOneof("type") == "exception"]

    def charts(self) -> list[dict]:
        """Every Plotly figure drawn, as its JSON spec."""
        return [spec for spec in map(figure_spec, self.elements.values()) if spec is not None]

    def tick_labels(self) -> list[list[str]]:
        """The tick labels of every x axis of every chart that sets them."""
        return [axis["ticktext"] for spec in self.charts()
                for name, axis in spec.get("layout", {}).items()
                if name.startswith("xaxis") and "ticktext" in axis]


def figure_spec(element) -> dict | None:
    """The Plotly figure of an element (an AppTest node, or an ``Element`` proto of the
    websocket client): st.plotly_chart's spec, or the data of a chart drawn in place
    (``gru_viz.ui.charts.chart_in_place``); None for any other element."""
    proto = getattr(element, "proto", element)
    if isinstance(proto, Element):  # the chart inside it
        proto = getattr(proto, proto.WhichOneof("type"))
    if hasattr(proto, "spec") and hasattr(proto, "theme"):
        return json.loads(proto.spec)
    if getattr(proto, "component_name", "").endswith("gruviz_chart"):
        return json.loads(proto.bytes)
    return None


def figure_bytes(element) -> int | None:
    """How many bytes of JSON an element's Plotly figure sends (``figure_spec``'s element:
    st.plotly_chart's spec, or the whole data of a chart drawn in place); None for any other
    element."""
    proto = getattr(element, "proto", element)
    if isinstance(proto, Element):
        proto = getattr(proto, proto.WhichOneof("type"))
    if hasattr(proto, "spec") and hasattr(proto, "theme"):
        return len(proto.spec)
    if getattr(proto, "component_name", "").endswith("gruviz_chart"):
        return len(proto.bytes)
    return None


def _set(state: WidgetState, value: WidgetValue) -> None:
    if isinstance(value, bool):  # before int: bool is an int
        state.bool_value = value
    elif isinstance(value, int):
        state.int_value = value
    elif isinstance(value, float):
        state.double_value = value
    elif isinstance(value, str):
        state.string_value = value
    else:
        state.double_array_value.data.extend(value)


class Session:
    """One websocket session; `rerun` sends the held query string and widget values."""

    def __init__(self, url: str, page: str = "", query_string: str = ""):
        self.ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.page = page  # url path name, '' for the home page
        self.page_hash = ""
        self.query_string = query_string
        self.values: dict[str, WidgetValue] = {}  # widget id -> value, sent on every rerun
        self.ws: websockets.ClientConnection | None = None
        self.session_id = ""

    async def __aenter__(self) -> Session:
        # No Origin header: the server treats the client as same-origin, like a local tab.
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"],
                                           max_size=None, open_timeout=30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def rerun(self, timeout: float = 60.0, fragment_id: str = "") -> Run:
        """Send a rerun with the held state (of one fragment only when ``fragment_id`` is
        given, as a browser does when a widget in it changes); collect this run's elements
        until it finishes."""
        assert self.ws is not None, "use `async with Session(...)`"
        msg = BackMsg()
        cs = msg.rerun_script
        cs.fragment_id = fragment_id
        cs.query_string = self.query_string
        cs.page_script_hash = self.page_hash
        cs.page_name = "" if self.page_hash else self.page
        for wid, value in self.values.items():
            state = cs.widget_states.widgets.add()
            state.id = wid
            _set(state, value)
        run = Run()
        start = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        await asyncio.wait_for(self._collect(run), timeout)
        run.seconds = time.perf_counter() - start
        return run

    async def _collect(self, run: Run) -> None:
        assert self.ws is not None
        while run.status < 0:
            fwd = ForwardMsg()
            fwd.ParseFromString(await self.ws.recv())
            self._take(fwd, run)

    def _take(self, fwd: ForwardMsg, run: Run) -> None:
        kind = fwd.WhichOneof("type")
        if kind == "new_session":
            self.session_id = fwd.new_session.initialize.session_id or self.session_id
        elif kind == "navigation":
            self.page_hash = fwd.navigation.page_script_hash
        elif kind == "page_info_changed":  # st.query_params changed: the tab's URL follows
            self.query_string = fwd.page_info_changed.query_string
        elif kind == "page_not_found":
            raise LookupError(f"no page {self.page!r} on this server")
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            run.elements[tuple(fwd.metadata.delta_path)] = fwd.delta.new_element
            if fwd.delta.fragment_id:
                run.fragments[tuple(fwd.metadata.delta_path)] = fwd.delta.fragment_id
        elif kind == "script_finished":
            run.status = fwd.script_finished
