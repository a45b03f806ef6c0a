"""A classroom at once: N concurrent sessions, each changing its own inputs on one real server.

    python benchmarks/load_test.py --sessions 30 --interactions 10 [--url http://127.0.0.1:PORT]

Starts `streamlit run app.py` on a free port of 127.0.0.1 (or uses --url, loopback only), opens
N websocket sessions speaking Streamlit's own protocol (tests/ws_client.py) and has each one,
once all have loaded the page, type an input sequence and set a weight slider of the
Playground to values of its own, again and again. Every response is checked to belong to its
session: the charts' tick labels must be its input, and the candidate heatmap must equal the
NumPy core's run of its own weights on its own input.

Prints p50/p95 latency per interaction (rerun sent -> script_finished), the errors (goal: 0),
the server's CPU per interaction (first loads excluded), the load average, and the server's
resident memory at the start (warmed up: every page loaded once, so torch and every page's
modules are in it), at its peak (VmHWM) and every 10 s after the sessions closed,
for --after-close seconds (default 200; goal: back within 20% of the start). Bounded in count
and in time.

    python benchmarks/load_test.py --sessions 30 --interactions 10 --abusive

adds an "abusive student" (issue 17): the classroom runs once calm, then again with one
session replaced by a student who submits, over and over, the worst input of each class the
pages take (megabytes of text in every box, the longest link, the longest sequences on the
Memory, Gradients and Phase-portrait pages, Compare on long inputs). It reports the other
sessions' p50/p95 in both runs (goal: p95 within 2x of calm), the server's peak RSS (goal:
below 2 GB) and its RSS after the sessions closed (goal: within 20% of its start).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import pathlib
import statistics
import sys
import time
import urllib.parse
from contextlib import nullcontext
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import numpy as np  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from gru_viz.core.engine import run  # noqa: E402
from gru_viz.core.model import GRUModel  # noqa: E402
from gru_viz.teaching.presets import DEFAULT, all_presets  # noqa: E402
from tests.server import serve  # noqa: E402
from tests.ws_client import Run, Session  # noqa: E402

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PAGE = "Playground"


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    first_loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: int = 0
    loaded_at: float = 0.0  # perf_counter when every session had loaded
    cpu_after_first_loads: float | None = None  # the server's CPU seconds then
    spans: list[tuple[float, float, str]] = field(default_factory=list)  # (start, end, what)


INPUT_LABEL = "Input sequence"  # the Playground's text input (its label goes on to explain)
WEIGHT_LABEL = "W_iz[0, 0]"  # a slider of the update gate (its tab is open at first)
CANDIDATE = 2  # heatmap panels: update, reset, candidate, state


def own_sequence(s: int, i: int) -> list[str]:
    """A numeric input unique to (session, interaction); its numbers are the chart's ticks."""
    return [str(s), str(i), "0.5", str(-s), "1", str(i + 1)]


def own_weight(s: int, i: int) -> float:
    """A value of W_iz[0, 0] on the slider's 0.1 grid, different for neighbouring sessions."""
    return ((s + 3 * i) % 21 - 10) / 10


def expected_candidate(x: list[str], w_iz00: float) -> np.ndarray:
    """(H, T) candidate of the default preset with the session's own W_iz[0, 0], by the core
    (the update gate moves the state, which the candidate reads from the second step on)."""
    w = all_presets()[DEFAULT].weights.replace(reset_after=False)  # the page's default variant
    W_iz = np.array(w.W_iz)
    W_iz[0, 0] = w_iz00
    model = GRUModel(((w.replace(W_iz=W_iz),),))
    return run(model, np.array(x, float)[:, None]).layers[0][0].n.T


def widget_id(run: Run, prefix: str) -> str:
    ids = [wid for label, (wid, _) in run.widgets().items() if label.startswith(prefix)]
    if not ids:
        raise LookupError(f"no widget labelled {prefix!r}; found {sorted(run.widgets())}")
    return ids[0]


def decoded(z) -> np.ndarray:
    """A Plotly array as sent: a list, or {dtype, bdata (base64), shape}."""
    if isinstance(z, dict):
        a = np.frombuffer(base64.b64decode(z["bdata"]), np.dtype(z["dtype"]))
        return a.reshape([int(n) for n in str(z.get("shape", len(a))).split(",")])
    return np.asarray(z, float)


def problems(run: Run, x: list[str], w_iz00: float) -> list[str]:
    """Why a response is not this session's own (empty when it is)."""
    found = [f"exception: {e}" for e in run.exceptions()]
    if run.status not in (ForwardMsg.FINISHED_SUCCESSFULLY,
                          ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
        found.append(f"script finished with status {run.status}")
    ticks = run.tick_labels()
    if not ticks:
        found.append("no chart with tick labels")
    found += [f"chart shows input {t}, expected {x}" for t in ticks if t != x]
    charts = run.charts()
    if charts:
        drawn = decoded(charts[0]["data"][CANDIDATE]["z"])
        want = expected_candidate(x, w_iz00)
        if drawn.shape != want.shape or not np.allclose(drawn, want, atol=1e-5):
            found.append(f"candidate heatmap is not this session's (W_iz[0, 0] = {w_iz00})")
    return found


async def one_session(url: str, page: str, s: int, interactions: int, tally: Tally,
                      loaded: asyncio.Barrier, pid: int | None) -> None:
    """First load, then (once every session has loaded: the CPU of the interactions alone is
    measured from there) ``interactions`` changes of its input and a weight."""
    async with Session(url, page=page, query_string="n=pytorch") as session:  # W_iz sliders
        first = await session.rerun()
        tally.first_loads.append(first.seconds)
        text, weight = widget_id(first, INPUT_LABEL), widget_id(first, WEIGHT_LABEL)
        # As a browser: a change of widgets inside one st.fragment reruns only that fragment.
        fragment = first.fragment_of(text)
        fragment = fragment if fragment == first.fragment_of(weight) else ""
        if await loaded.wait() == 0:
            tally.loaded_at = time.perf_counter()
            tally.cpu_after_first_loads = cpu_seconds(pid) if pid else None
        for i in range(interactions):
            x, w = own_sequence(s, i), own_weight(s, i)
            session.values[text] = "; ".join(x)
            session.values[weight] = [w]
            reply = await session.rerun(fragment_id=fragment)
            tally.latencies.append(reply.seconds)
            end = time.perf_counter()
            tally.spans.append((end - reply.seconds, end, f"session {s}"))
            tally.errors += [f"session {s} interaction {i}: {p}" for p in problems(reply, x, w)]
            tally.done += 1


# (page, query string, [(widget label prefix, value)]): the worst input of each class
ATTACKS = [
    ("Playground", "", [(INPUT_LABEL, "1;" * 5_000_000)]),  # 10 MB in a text box
    ("Playground", "p=latch&x=" + "1%3B" * 1000 + "&t=999999", []),  # the longest link
    ("Explorer", "", [("Input", "(" * 15_000_000)]),  # 15 MB of text for a text model
    ("Memory_and_gradients", "", [("Input sequence", "1, 0; " * 20_000)]),
    ("Memory_and_gradients", "", [("Input sequence", "1, 0; " * 20_000),
                                  ("Show", "Gradients through time")]),  # radios: by label
    ("Phase_portrait", "", [("Study", "a larger model")]),
    ("Explorer", "", [("Input", "([])" * 5_000), ("View", "Compare")]),  # long inputs
]


async def warm_up(url: str) -> None:
    """Every page the class and the abuser visit, loaded once with its defaults: the modules
    and torch that a served class leaves loaded for good are in the start RSS, so that what
    is measured after the sessions close is what they left behind. The attacks' own results
    are not computed here: the abuser computes them during the class."""
    for page in dict.fromkeys([PAGE, "Home"] + [a[0] for a in ATTACKS]):
        async with Session(url, page="" if page == "Home" else page) as s:
            await s.rerun(timeout=300)


async def abuse(url: str, stop: asyncio.Event, tally: Tally) -> None:
    """One student submitting the worst inputs again and again until ``stop``."""
    k = 0
    while not stop.is_set():
        page, query, sets = ATTACKS[k % len(ATTACKS)]
        k += 1
        start = time.perf_counter()
        try:
            async with Session(url, page=page, query_string=query) as s:
                first = await s.rerun(timeout=300)
                for prefix, value in sets:
                    found = [wid for label, (wid, _) in first.widgets().items()
                             if label.startswith(prefix)]
                    if found:
                        s.values[found[0]] = value
                        first = await s.rerun(timeout=300)
                tally.latencies.append(first.seconds)
                tally.errors += [f"abusive {page}: {e}" for e in first.exceptions()]
                tally.done += 1
        except Exception as exc:  # noqa: BLE001 - a refused attack is fine; note it
            tally.errors.append(f"abusive {page}: {type(exc).__name__}: {exc}"[:200])
        tally.spans.append((start, time.perf_counter(), f"attack {(k - 1) % len(ATTACKS)} "
                            f"({page})"))


def stalls(calm: Tally, bad: Tally, most: int = 5) -> list[str]:
    """The slowest interactions of the abused class, each with the attacks in flight then:
    which abusive request holds the others up."""
    lines = []
    for start, end, who in sorted(calm.spans, key=lambda s: s[0] - s[1])[:most]:
        during = [what for a, b, what in bad.spans if a < end and b > start]
        lines.append(f"{(end - start) * 1000:6.0f} ms  {who}; in flight: "
                     f"{', '.join(during) or 'no attack'}")
    return lines


async def abused_load(url: str, page: str, sessions: int, interactions: int,
                      timeout: float) -> tuple[Tally, Tally]:
    """``sessions`` calm sessions while one abusive student runs; (calm tally, abuser's)."""
    stop, bad = asyncio.Event(), Tally()
    attacker = asyncio.create_task(abuse(url, stop, bad))
    await asyncio.sleep(1.0)  # the first attack is under way before the class starts
    try:
        calm = await load(url, page, sessions, interactions, timeout)
    finally:
        stop.set()
        try:
            await asyncio.wait_for(attacker, 300)
        except asyncio.TimeoutError:
            attacker.cancel()
    return calm, bad


def rss_after_close(pid: int, most_s: float) -> list[tuple[float, int]]:
    """The server's RSS every 10 s for ``most_s`` seconds after the sessions closed:
    [(seconds, kB)]. Streamlit keeps a closed session for server.disconnectedSessionTTL
    (gru_viz.ui.closed_sessions drops it then) and the caches drop entries idle for
    IDLE_SECONDS."""
    seen, t0 = [], time.monotonic()
    while not seen or seen[-1][0] < most_s:
        time.sleep(10)
        kb = memory_kb(pid, "VmRSS")
        if kb is None:
            break
        seen.append((time.monotonic() - t0, kb))
    return seen


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


async def load(url: str, page: str, sessions: int, interactions: int,
               timeout: float, pid: int | None = None) -> Tally:
    tally, loaded = Tally(), asyncio.Barrier(sessions)

    async def guarded(s: int) -> None:
        try:
            await one_session(url, page, s, interactions, tally, loaded, pid)
        except Exception as exc:  # a refused or dropped connection is an error, not a crash
            tally.errors.append(f"session {s}: {type(exc).__name__}: {exc}")
            await loaded.abort()  # the others go on without waiting for this one

    tasks = [asyncio.create_task(guarded(s)) for s in range(sessions)]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        tally.errors.append(f"{len(pending)} sessions unfinished after the {timeout:g} s limit")
    return tally


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used, from /proc/PID/stat (Linux)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, field_name: str) -> int | None:
    """VmHWM (peak) or VmRSS (now) of a process, in kB, from /proc (Linux)."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def pct(t: Tally, q: float) -> float:
    """The q-quantile of a tally's latencies, in ms."""
    lat = sorted(t.latencies) or [0.0]
    return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000


def mb(kb: int | None) -> str:
    return f"{kb / 1024:.0f} MB" if kb else "unknown"


def p50_ms(latencies: list[float]) -> float:
    return statistics.median(latencies) * 1000 if latencies else 0.0


def report(tally: Tally, solo: Tally, sessions: int, interactions: int, wall: float,
           rss_kb: int | None, peak_kb: int | None, cpu: float | None) -> None:
    """``cpu``: the server's CPU seconds from when every session had loaded to the end."""
    rows = [("sessions", sessions), ("interactions / session", interactions),
            ("interactions done", f"{tally.done} of {sessions * interactions}"),
            ("errors", len(tally.errors) + len(solo.errors)),
            ("first load p50", f"{p50_ms(tally.first_loads):.0f} ms"),
            ("interaction p50", f"{pct(tally, 0.5):.0f} ms"),
            ("interaction p95", f"{pct(tally, 0.95):.0f} ms"),
            ("interaction max", f"{pct(tally, 1.0):.0f} ms"),
            ("one session alone p50", f"{p50_ms(solo.latencies):.0f} ms (load p50 is "
             f"{p50_ms(tally.latencies) / max(p50_ms(solo.latencies), 1e-9):.1f}×)"),
            ("throughput", f"{tally.done / wall:.1f} interactions/s over {wall:.1f} s"),
            ("server CPU / interaction", "unknown" if cpu is None else
             f"{cpu / max(tally.done, 1) * 1000:.1f} ms (after the first loads)"),
            ("server RSS at start", f"{mb(rss_kb)} (every page loaded once)"),
            ("server peak RSS", mb(peak_kb))]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    for e in (solo.errors + tally.errors)[:20]:
        print("  error:", e)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--interactions", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=120.0, help="hard limit for the load, s")
    ap.add_argument("--url", help="a running server on this machine (default: start one)")
    ap.add_argument("--pid", type=int, help="that server's process id, for its memory")
    ap.add_argument("--abusive", action="store_true",
                    help="also run the class with one abusive student (issue 17)")
    ap.add_argument("--after-close", type=float, default=200.0,
                    help="seconds to watch the RSS after the sessions close")
    args = ap.parse_args()
    if not (1 <= args.sessions <= 100 and 1 <= args.interactions <= 100):
        ap.error("sessions and interactions are bounded to 1–100")
    if args.url:
        if urllib.parse.urlparse(args.url).hostname not in LOOPBACK:
            ap.error("load tests target only this machine (127.0.0.1)")
        server = nullcontext((args.url, args.pid))
    else:
        server = serve(ROOT)
    with server as (url, pid):
        asyncio.run(warm_up(url))
        # One session alone first: the same machine's latency without contention, for the ratio.
        solo = asyncio.run(load(url, PAGE, 1, 5, args.timeout))
        rss = memory_kb(pid, "VmRSS") if pid else None  # warmed up: every page once
        load_before = load_line()
        tally = asyncio.run(load(url, PAGE, args.sessions, args.interactions, args.timeout, pid))
        wall = time.perf_counter() - tally.loaded_at
        cpu1 = cpu_seconds(pid) if pid else None
        load_after = load_line()
        if args.abusive:
            others = max(1, args.sessions - 1)
            calm = asyncio.run(load(url, PAGE, others, args.interactions, args.timeout))
            abused, bad = asyncio.run(abused_load(url, PAGE, others, args.interactions,
                                                  args.timeout))
        peak = memory_kb(pid, "VmHWM") if pid else None
        after = rss_after_close(pid, args.after_close) if pid and rss else []
    cpu0 = tally.cpu_after_first_loads
    cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    print(f"load test: {url}/{PAGE}")
    report(tally, solo, args.sessions, args.interactions, wall, rss, peak, cpu)
    print(f"{'load average':<24}  before {load_before}; after {load_after}")
    if after:
        print(f"{'server RSS after close':<24}  " + ", ".join(
            f"{kb / 1024:.0f} MB at {t:.0f} s" for t, kb in after)
            + f" ({after[-1][1] / rss - 1:+.0%} of the start; goal within 20%)")
    if args.abusive:
        print(f"\nabusive student: {args.sessions - 1} sessions calm, then the same with one "
              "abusive student")
        print(f"  calm    p50 {pct(calm, 0.5):6.0f} ms  p95 {pct(calm, 0.95):6.0f} ms")
        print(f"  abused  p50 {pct(abused, 0.5):6.0f} ms  p95 {pct(abused, 0.95):6.0f} ms"
              f"  (p95 {pct(abused, 0.95) / max(pct(calm, 0.95), 1e-9):.2f}x calm; goal <= 2x)")
        print(f"  attacks submitted {bad.done}, their p50 {pct(bad, 0.5):.0f} ms, "
              f"max {pct(bad, 1.0):.0f} ms; server peak RSS {mb(peak)} (goal < 2 GB)")
        print("  slowest interactions:")
        for line in stalls(abused, bad):
            print("   ", line)
        for e in (calm.errors + abused.errors + bad.errors)[:10]:
            print("  error:", e)
        if calm.errors or abused.errors:
            return 1
    return 1 if tally.errors or solo.errors else 0


if __name__ == "__main__":
    sys.exit(main())
