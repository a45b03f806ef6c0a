"""What a user waits for, in Chromium against a real `streamlit run app.py`.

Times are read from the page's own clock (performance.now()): navigation -> the first Plotly
chart drawn, and a slider key press -> the chart redrawn: its data changed and Plotly's drawing
(heatmap images, line paths) changed, then painted (checked on every animation frame, so
±1 frame, about 17 ms). Sizes and goals, from issue 7:

    playground at its default size (the latch preset: H = 2, T = 8), and at T = 100;
    explorer with random-weight checkpoints (64 symbols, linear head, our own format) at
    (H, T) = (64, 1000), (256, 1000), (256, 5000), uploaded with the file chooser and fed a
    T-character text; its slider is the full-resolution window under the gate overview.

    slider -> redrawn: ≤ 200 ms (playground, issue 16), ≤ 500 ms (64×1000), ≤ 800 ms (256×1000),
    ≤ 2 s (256×5000); first chart ≤ 3 s on a warm server up to 256×1000.

The explorer's "first chart" is timed from committing the T-step text (Ctrl+Enter) to the
overview drawn with it (a page load always starts on a shipped example, so navigation alone
cannot show a large uploaded model). Each repetition types a new random text: nothing is
served from the run cache. Prints medians of the repetitions and their ratio to the goal; a
Playground slider's time is also split where it goes (the widget's delay, the server's rerun,
the transport, the browser's redraw: ``timed_parts``).

Time in the browser (issue 16), mode ``time``: on Step through and the Playground, a step
change (a key press) -> the step's equations, diagram, values and cursor drawn and painted
(goal < 50 ms), with the websocket watched: no message may reach the server during it; the
play rate reached at 30 steps/s requested on a 200-step run (goal ≥ 25); and the frames, sampled
on every animation frame, in which a chart (or the time view) was blank or missing during 10
weight changes and during 100 steps of play (goal 0).

Mode ``sliders``: a Playground weight slider -> the first chart redrawn, and -> every chart
redrawn, split as above, at 2 units × 8, 100 and 200 steps in a 1280×720 window (goal ≤ 200 ms).

Mode ``navigation``: a first visit to Home (its links shown), then its Playground link clicked
-> the first heatmap drawn (goal ≤ 2 s on a warm server).

Mode ``window`` (issue 16, item 5): the explorer's full-resolution window at the sizes above.
A key on the window bar -> the window chart holds the new x range and its heatmap images are
redrawn, painted (the whole run, or the 8 MB around the window, is in the page), with the
websocket watched: no message may be sent within 1.9 s of a move (the server hears of the
window 2 s after moving stops); at 256×5000 also a jump beyond the span (a round trip). The
reference is today's design before this change, served from the tree named by GRUVIZ_BEFORE
(e.g. ``git archive da21f02 | tar -x -C /tmp/before``) in the same run: its window slider ->
redrawn. Both print the text committed -> chart time and the largest websocket message of
that rerun (the largest chart).

    python benchmarks/bench_browser.py [repetitions]
        [playground|sliders|explorer|time|navigation|window]
        (default 5 repetitions, every mode)
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gru_viz.core.model import GRUModel  # noqa: E402
from gru_viz.io.inputs import Vocabulary  # noqa: E402
from gru_viz.io.savefile import save_checkpoint  # noqa: E402
from tests.browser import _FINGERPRINT, CHROMIUM_ARGS, AppPage  # noqa: E402
from tests.server import serve  # noqa: E402

V = 64
SYMBOLS = tuple(chr(c) for c in range(48, 48 + V))
FIRST_CHART = """
(() => {
  const drawn = () => Array.from(document.querySelectorAll('.js-plotly-plot')).some(gd =>
      gd.querySelector('.main-svg') && gd.querySelector(
          '.hm image, .heatmaplayer image, .scatterlayer path, .imagelayer image'));
  const tick = () => {
    if (drawn()) { window.__first_chart = performance.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""
# Arm before an action: the next keydown (or now, for other actions) starts the clock. Every
# animation frame compares each chart's data (fingerprint) and what Plotly drew (heatmap images,
# line paths) with those taken here; once both differ, the clock stops at the next frame, i.e.
# after the browser painted the new drawing (Plotly may draw after it has taken the new data):
# __t1 when some chart changed, __t1all (if asked) when every chart on the page changed: each
# its data, and its drawing or Plotly's "drawn" event since (a small change of a heatmap can
# leave its colours, and so its image, as they were). A weight moves every Playground chart.
ARM = f"""([byKey, every]) => {{
  const fp = {_FINGERPRINT};
  const charts = () => Array.from(document.querySelectorAll('.js-plotly-plot'));
  const drawnOf = gd => Array.from(
      gd.querySelectorAll('.hm image, .heatmaplayer image, .imagelayer image'))
          .map(i => i.getAttribute('href') || i.getAttribute('xlink:href') || '')
          .concat(Array.from(gd.querySelectorAll('.scatterlayer path.js-line'))
                      .map(p => p.getAttribute('d') || ''));
  const perChart = () => {{  // the fingerprint cut at its '--' (one part a chart)
    const out = [[]];
    fp().forEach(s => s === '--' ? out.push([]) : out[out.length - 1].push(s));
    out.pop();
    return out;
  }};
  const differ = (a, b) => a.length !== b.length || a.some((s, i) => s !== b[i]);
  const was = perChart(), wasDrawn = charts().map(drawnOf);
  const plotted = charts().map(() => false);
  charts().forEach((gd, i) => gd.once && gd.once('plotly_afterplot', () => {{
    plotted[i] = true; }}));
  window.__t0 = byKey ? null : performance.now();
  window.__t1 = null;
  window.__t1all = null;
  if (byKey) document.addEventListener('keydown', () => {{ window.__t0 = performance.now(); }},
                                        {{capture: true, once: true}});
  const tick = () => {{
    const now = perChart(), drawn = charts().map(drawnOf);
    const changed = was.map((w, i) => i < now.length && differ(now[i], w)
        && (plotted[i] || i < drawn.length && differ(drawn[i], wasDrawn[i])));
    if (window.__t1 === null && changed.some(c => c)) {{
      requestAnimationFrame(() => {{ window.__t1 = performance.now(); }});
    }}
    if (changed.every(c => c)) {{
      requestAnimationFrame(() => {{ window.__t1all = performance.now(); }});
      return;
    }}
    if (!every && window.__t1 !== null) return;
    requestAnimationFrame(tick);
  }};
  requestAnimationFrame(tick);
}}"""


def checkpoint(H: int) -> bytes:
    """Random weights in our own checkpoint format: a vocabulary of V symbols, a head."""
    rng = np.random.default_rng(H)
    model = GRUModel.random(V, H, seed=H, dtype=np.float32).map(  # gates spread over [0, 1]
        lambda w: w.replace(W_iz=w.W_iz * 8, W_ir=w.W_ir * 8, W_in=w.W_in * 8))
    buf = io.BytesIO()
    save_checkpoint(buf, model, vocabulary=Vocabulary(SYMBOLS),
                    head_weight=rng.normal(size=(V, H)).astype(np.float32),
                    head_bias=np.zeros(V, np.float32))
    return buf.getvalue()


def random_text(T: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list(SYMBOLS), T))


def timed(app: AppPage, action, by_key: bool, timeout_s: float = 120,
          every: bool = False) -> float:
    """Milliseconds from the action (its key press) to a chart's data changed and drawn
    (``every``: every chart's)."""
    app.page.evaluate(ARM, [by_key, every])
    action()
    t1 = "__t1all" if every else "__t1"
    app.page.wait_for_function(f"() => window.{t1} !== null && window.__t0 !== null",
                               timeout=timeout_s * 1000, polling=50)
    ms = app.page.evaluate(f"() => window.{t1} - window.__t0")
    app.wait_idle()
    return ms


def timed_parts(app: AppPage, action) -> dict[str, float]:
    """A key-press action's milliseconds, split where they go: key press -> the page's message
    to the server (the widget's own delay), -> the server's first reply (its rerun up to the
    first element), -> its last reply before the drawing (the rest of the rerun and the
    transport), -> the chart drawn and painted (the browser: Streamlit's handling of the
    messages and Plotly's redraw). The replies are timed as the page takes them, behind its
    own work: at 2x200 the server's fragment ran in ~25 ms while "first -> last reply" read
    50-190 ms (the browser was rendering the first replies meanwhile).
    The page's clock is mapped onto this process's (one round trip, a few ms)."""
    sent, got = len(app.sent), len(app.received)
    a = time.monotonic()
    now = app.page.evaluate("() => performance.now()") / 1000
    offset = (a + time.monotonic()) / 2 - now
    every = timed(app, action, True, every=True)
    t0, t1 = (app.page.evaluate("() => [window.__t0, window.__t1]"))
    total = t1 - t0
    t0, t1 = t0 / 1000 + offset, t1 / 1000 + offset
    out = [s for s in app.sent[sent:] if s >= t0 - 0.005]
    back = [r for r in app.received[got:] if out and out[0] <= r <= t1]
    if not out or not back:
        return {"total": total, "every chart": every}
    return {"total": total, "every chart": every, "key -> sent": 1000 * (out[0] - t0),
            "sent -> first reply": 1000 * (back[0] - out[0]),
            "first -> last reply": 1000 * (back[-1] - back[0]),
            "last reply -> drawn": 1000 * (t1 - back[-1])}


def report_parts(name: str, runs: list[dict[str, float]], goal_ms: float) -> None:
    report(name, [r["total"] for r in runs], goal_ms)
    for part in ("every chart", "key -> sent", "sent -> first reply", "first -> last reply",
                 "last reply -> drawn"):
        times = [r[part] for r in runs if part in r]
        if times:
            report(f"    {part}", times, None)


def first_chart(context, url: str) -> float:
    """Milliseconds from navigation start to the first chart drawn, in a new tab (a new
    session) of ``context``."""
    page = context.new_page()
    try:
        page.add_init_script(FIRST_CHART)
        page.goto(url)
        page.wait_for_function("() => window.__first_chart !== undefined", timeout=120_000,
                               polling=50)
        return page.evaluate("() => window.__first_chart")
    finally:
        page.close()


def first_charts(browser, url: str, reps: int) -> tuple[list[float], list[float]]:
    """(a new browser profile each time: nothing cached, the user's first visit;
    one profile: its HTTP cache holds Streamlit's and Plotly's scripts, a returning user)."""
    cold = []
    for _ in range(reps):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        cold.append(first_chart(context, url))
        context.close()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first_chart(context, url)
    cached = [first_chart(context, url) for _ in range(reps)]
    context.close()
    return cold, cached


def report(name: str, times: list[float], goal_ms: float | None) -> None:
    med = statistics.median(times)
    goal = f"goal {goal_ms:5.0f} ms   ratio {med / goal_ms:4.2f}" if goal_ms else \
        "no goal" + " " * 21
    print(f"{name:<46} median {med:7.0f} ms   {goal}   runs "
          f"{', '.join(f'{t:.0f}' for t in times)}", flush=True)


def see_saw(app: AppPage, label: str, run: int = 30):
    """Presses of a slider ``run`` times right, then as many left...: any number of them stays
    inside its range (a press at the end of the range changes nothing and would never be
    drawn), and nearly every press gives numbers not seen lately: the browser keeps the large
    messages of the last two reruns, and right, left, right... would have the server send
    every other figure as a reference to the one in the browser, which new numbers never
    are. Start where ``run`` steps fit on the right."""
    keys = itertools.cycle(["ArrowRight"] * run + ["ArrowLeft"] * run)
    return lambda: app.slide(label, key=next(keys))


def playground(browser, url: str, reps: int) -> None:
    cold, cached = first_charts(browser, f"{url}/Playground", reps)
    report("playground: navigation -> first chart", cold, 3000)
    report("  the same, browser cache warm", cached, 3000)
    app = AppPage(browser, f"{url}/Playground")
    try:
        slide = see_saw(app, "W_ux[0, 0]")
        report_parts("playground 2x8: slider -> redrawn",
                     [timed_parts(app, slide) for _ in range(reps)], 200)
        rows = "; ".join(f"{np.sin(t / 5):.2f}" for t in range(100))
        app.type_text("Input sequence", rows)
        app.wait_idle()
        report_parts("playground 2x100: slider -> redrawn",
                     [timed_parts(app, slide) for _ in range(reps)], 200)
    finally:
        app.close()


def sliders(browser, url: str, reps: int) -> None:
    """A Playground weight slider at the sizes a class uses (2 units × 8, 100, 200 steps),
    at 1280×720 (a projector); two presses first, not timed."""
    for T in (8, 100, 200):
        rows = ";".join(f"{np.sin(t / 7):.2f}" for t in range(T))
        app = AppPage(browser, f"{url}/Playground" + (f"?x={rows}" if T != 8 else ""))
        app.page.set_viewport_size({"width": 1280, "height": 720})
        try:
            app.wait_idle()
            slide = see_saw(app, "W_ux[0, 0]")
            for _ in range(2):
                timed(app, slide, True, every=True)
            report_parts(f"playground 2x{T}: slider -> redrawn",
                         [timed_parts(app, slide) for _ in range(reps)], 200)
        finally:
            app.close()


def explorer(browser, url: str, reps: int, sizes, tmp: pathlib.Path) -> None:
    cold, cached = first_charts(browser, f"{url}/Explorer", reps)
    report("explorer (brackets): navigation -> first chart", cold, 3000)
    report("  the same, browser cache warm", cached, 3000)
    goals = {(64, 1000): 500, (256, 1000): 800, (256, 5000): 2000}
    for H, T in sizes:
        path = tmp / f"random_{H}.pt"
        path.write_bytes(checkpoint(H))
        app = AppPage(browser, f"{url}/Explorer")
        try:
            t0 = time.perf_counter()
            with app.changing(timeout_ms=300_000):
                app.select("Model", "upload a file")
                app.upload("Model file", path)
            upload_s = time.perf_counter() - t0
            firsts = []
            for k in range(reps):
                text = random_text(T, seed=1000 * H + T + k)
                firsts.append(timed(app, partial(app.type_text, "Input", text), True,
                                    timeout_s=300))
            report(f"explorer {H}x{T}: text committed -> chart", firsts,
                   3000 if T <= 1000 else None)
            slides = [timed(app, partial(app.slide, "Window start"), True) for _ in range(reps)]
            report(f"explorer {H}x{T}: window slider -> redrawn", slides, goals[(H, T)])
            print(f"    (upload and first draw of the {H}-unit model: {upload_s:.1f} s wall, "
                  "including the test harness's idle wait)", flush=True)
        finally:
            app.close()


# --- time in the browser (issue 16) -----------------------------------------------------------

STEP_ARM = """() => {
  const tl = window.__gruviz_timeline, want = Math.min(tl.t + 1, tl.data.T - 1);
  window.__t0 = null; window.__t1 = null;
  document.addEventListener('keydown', () => { window.__t0 = performance.now(); },
                            {capture: true, once: true});
  const drawn = () => tl.root.dataset.t === String(want) && (!tl.diagram
      || tl.diagram.textContent.includes('t = ' + want))
      && Array.from(document.querySelectorAll('.gruviz-cursor'))
             .every(l => l.dataset.t === String(want));
  const tick = () => {
    if (window.__t0 !== null && drawn()) {
      requestAnimationFrame(() => { window.__t1 = performance.now(); });
      return;
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return want;
}"""

# Every animation frame: is every chart on screen (a Plotly chart drawn: heatmap images or
# line paths, taller than 50 px, not hidden) and the time view (values, diagram) present?
# Counts the frames where something is not, and apart the frames where a chart element seen
# at the start had left the page (replaced by a new one: a remount, not an update in place).
SAMPLER = """(expectCharts) => {
  const s = window.__blank = {frames: 0, blank: 0, replaced: 0, first: null, stop: false};
  const start = Array.from(document.querySelectorAll('.js-plotly-plot'));
  const ok = () => {
    const charts = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(gd =>
        gd.querySelector('.main-svg') && gd.querySelectorAll(
          '.hm image, .heatmaplayer image, .imagelayer image, .scatterlayer path.js-line')
          .length > 0 && gd.getBoundingClientRect().height > 50
        && getComputedStyle(gd.closest('[data-testid=stPlotlyChart]') || gd).visibility
           !== 'hidden').length;
    if (start.some(gd => !gd.isConnected)) s.replaced++;
    const tl = window.__gruviz_timeline;
    const view = tl && tl.root.isConnected && tl.vals.childElementCount > 0
        && (!tl.diagram || tl.diagram.querySelector('svg'));
    return charts >= expectCharts && view;
  };
  const tick = () => {
    if (s.stop) return;
    s.frames++;
    if (!ok()) { s.blank++; if (s.first === null) s.first = performance.now(); }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def step_changes(app: AppPage, reps: int) -> tuple[list[float], int]:
    """(ms from an ArrowRight to the new step painted, messages sent to the server then)."""
    times, sent = [], 0
    app.page.evaluate("() => window.__gruviz_timeline.go(0)")
    for _ in range(reps):
        before = len(app.sent)
        app.page.evaluate(STEP_ARM)
        app.page.keyboard.press("ArrowRight")
        app.page.wait_for_function("() => window.__t1 !== null", timeout=10_000, polling=10)
        times.append(app.page.evaluate("() => window.__t1 - window.__t0"))
        app.page.wait_for_timeout(30)
        sent += len(app.sent) - before
    return times, sent


def play_rate(app: AppPage, seconds: float = 3.0) -> tuple[float, int]:
    """Steps per second reached with 30 requested (from t = 0, over ``seconds``), and the
    messages sent to the server meanwhile."""
    app.page.evaluate("""() => { const tl = window.__gruviz_timeline; tl.pause();
        tl.go(0); tl.speed = 30; tl.loop = false; }""")
    before = len(app.sent)
    t0 = app.page.evaluate("() => { const tl = window.__gruviz_timeline; window.__p0 = "
                           "[performance.now(), tl.t]; tl.start(); return tl.t; }")
    app.page.wait_for_timeout(seconds * 1000)
    rate = app.page.evaluate("""() => { const tl = window.__gruviz_timeline;
        const r = (tl.t - window.__p0[1]) / ((performance.now() - window.__p0[0]) / 1000);
        tl.playing = false; return r; }""")
    del t0
    return rate, len(app.sent) - before


def blank_frames(app: AppPage, action, charts: int) -> tuple[int, int, int]:
    """(frames sampled, frames with a chart or the time view blank or missing, frames where
    a chart element had been replaced) during ``action``."""
    app.page.evaluate(SAMPLER, charts)
    action()
    app.page.evaluate("() => { window.__blank.stop = true; }")
    return app.page.evaluate(
        "() => [window.__blank.frames, window.__blank.blank, window.__blank.replaced]")


HEATMAP_DRAWN = """() => Array.from(document.querySelectorAll(
    '.st-key-pg-heatmaps .js-plotly-plot')).some(gd => gd.querySelector(
    '.hm image, .heatmaplayer image, .imagelayer image'))"""


def home_then_playground(browser, url: str, reps: int) -> tuple[list[float], list[float]]:
    """A first visit (new browser profile) to Home, then a click on its Playground link:
    (ms from navigation start to Home's links shown, ms from the click to the Playground's
    first heatmap drawn)."""
    links, firsts = [], []
    for _ in range(reps):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(url)
            page.locator("[data-testid='stMain'] [data-testid='stPageLink']").first.wait_for(
                timeout=60_000)
            links.append(page.evaluate("() => performance.now()"))
            AppPage.wait_idle(type("P", (), {"page": page})())
            page.wait_for_timeout(500)
            t0 = page.evaluate("() => performance.now()")
            page.locator("[data-testid='stSidebar'] a", has_text="Playground").first.click()
            page.wait_for_function(HEATMAP_DRAWN, timeout=60_000, polling="raf")
            firsts.append(page.evaluate("() => performance.now()") - t0)
        finally:
            context.close()
    return links, firsts


def time_in_browser(browser, url: str, reps: int) -> None:
    reps = max(reps, 20)
    rows = ";".join(f"{np.sin(t / 7):.2f}" for t in range(200))
    for page, charts in (("Step_through", 0), ("Playground", 2)):
        app = AppPage(browser, f"{url}/{page}?x={rows}")
        app.page.set_viewport_size({"width": 1280, "height": 720})
        try:
            app.wait_idle()
            app.page.wait_for_function("() => window.__gruviz_timeline !== undefined")
            times, sent = step_changes(app, reps)
            report(f"{page} 2x200: step change -> redrawn", times, 50)
            print(f"    websocket messages sent during the {reps} step changes: {sent} "
                  "(goal 0)", flush=True)
            rate, sent = play_rate(app)
            print(f"{page + ' 2x200: play at 30 steps/s':<46} reached {rate:5.1f} steps/s "
                  f"(goal ≥ 25), messages sent while playing: {sent}", flush=True)

            def play100(app=app):
                app.page.evaluate("""() => { const tl = window.__gruviz_timeline; tl.pause();
                    tl.go(0); tl.speed = 30; tl.start(); }""")
                app.page.wait_for_function("() => window.__gruviz_timeline.t >= 100",
                                           timeout=60_000, polling=50)
                app.page.evaluate("() => window.__gruviz_timeline.pause()")
            frames, blank, _ = blank_frames(app, play100, charts)
            print(f"{page + ': 100 steps of play':<46} {blank} blank of {frames} frames "
                  "(goal 0)", flush=True)
            if page == "Playground":
                def weights10(app=app):
                    for _ in range(10):
                        with app.changing():
                            app.slide("W_ux[0, 0]")
                frames, blank, replaced = blank_frames(app, weights10, charts)
                print(f"{'Playground: 10 weight changes':<46} {blank} blank of {frames} "
                      f"frames (goal 0); {replaced} with a chart element replaced",
                      flush=True)
                slide = see_saw(app, "W_ux[0, 0]")
                report_parts("Playground 2x200: slider -> redrawn",
                             [timed_parts(app, slide) for _ in range(max(5, reps // 2))], 200)
        finally:
            app.close()


def navigation(browser, url: str, reps: int) -> None:
    links, firsts = home_then_playground(browser, url, reps)
    report("home (first visit): navigation -> links shown", links, None)
    report("home -> playground link: click -> first chart", firsts, 2000)


# --- the explorer's window in the browser (issue 16, item 5) ----------------------------------

WINDOW_CHART = "document.querySelector('.st-key-ex-zoomed .js-plotly-plot')"
# Arm before a key press on the window bar: the clock starts at the key and stops at the frame
# after the window chart (perhaps a new element) shows [want, want + size) and its heatmap
# images differ from those taken here (drawn anew, or placed anew: a range change may only
# move an image Plotly drew). Every message the page sends is logged (page clock).
WINDOW_ARM = f"""(want) => {{
  const images = () => Array.from((({WINDOW_CHART}) || document).querySelectorAll(
      '.hm image, .heatmaplayer image, .imagelayer image'))
      .map(i => ['x', 'width', 'href', 'xlink:href'].map(a => i.getAttribute(a)).join(' '));
  const differ = (a, b) => a.length !== b.length || a.some((s, i) => s !== b[i]);
  const was = images();
  window.__t0 = null; window.__t1 = null;
  document.addEventListener('keydown', () => {{ window.__t0 = performance.now();
      (window.__moves = window.__moves || []).push(window.__t0); }}, {{capture: true, once: true}});
  if (!window.__sends) {{
    window.__sends = [];
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (d) {{ window.__sends.push(performance.now());
                                               return send.call(this, d); }};
  }}
  const tick = () => {{
    const gd = {WINDOW_CHART}, r = gd && gd.layout && gd.layout.xaxis && gd.layout.xaxis.range;
    if (window.__t0 !== null && r && r[0] === want - 0.5 && differ(images(), was)) {{
      requestAnimationFrame(() => {{ window.__t1 = performance.now(); }});
      return;
    }}
    requestAnimationFrame(tick);
  }};
  requestAnimationFrame(tick);
}}"""
# Messages sent within 1.9 s after a move with no later move before them: caused by a move.
MOVE_SENDS = """() => (window.__sends || []).filter(s => {
  const before = (window.__moves || []).filter(m => m <= s);
  return before.length && s - before[before.length - 1] < 1900; }).length"""


# In the page: ms from Plotly.relayout of the window chart's x range (3 steps on each time) to
# the next frame, n times, after ``setup`` (a relayout: e.g. a range slider shown). The bar is
# told each start first, so that it does not put its own back.
RELAYOUTS = f"""async ([n, setup, ticks]) => {{
  const gd = {WINDOW_CHART}, P = window.Plotly, pan = window.__gruviz_pan;
  if (setup) await P.relayout(gd, setup);
  const size = pan.data.size, times = [];
  for (let k = 1; k <= n; k++) {{
    const s = pan.data.span[0] + 3 * k, t0 = performance.now();
    pan.start = s;
    const edit = {{'xaxis.range': [s - 0.5, s + size - 0.5]}};
    if (ticks) {{ edit['xaxis.tickvals'] = [s + 1]; edit['xaxis.ticktext'] = ['x']; }}
    await P.relayout(gd, edit);
    await new Promise(r => requestAnimationFrame(() => r()));
    times.push(performance.now() - t0);
  }}
  return times;
}}"""


def relayout_variants(app: AppPage, H: int, T: int, n: int) -> None:
    """How fast Plotly moves the window, by the means it offers: the range alone (the bar;
    the chart holds ticks for its whole span), the range and new ticks, and the range with
    Plotly's own range slider shown (which draws a small copy of every panel)."""
    for name, setup, ticks in (("range only (the bar)", None, False),
                               ("range and ticks", None, True),
                               ("range, Plotly's rangeslider shown",
                                {"xaxis.rangeslider.visible": True}, False)):
        times = app.page.evaluate(RELAYOUTS, [n, setup, ticks])
        report(f"    {H}x{T} Plotly.relayout, {name}", times, None)


def bar_key(app: AppPage, key: str, want: int, timeout_s: float = 120) -> float:
    """Milliseconds from ``key`` pressed on the window bar to the window at ``want`` drawn."""
    app.page.evaluate(WINDOW_ARM, want)
    app.page.locator(".gv-pan input[type='range']").press(key)
    app.page.wait_for_function("() => window.__t1 !== null && window.__t0 !== null",
                               timeout=timeout_s * 1000, polling=50)
    return app.page.evaluate("() => window.__t1 - window.__t0")


def loaded_explorer(browser, url: str, H: int, T: int, path: pathlib.Path,
                    reps: int) -> tuple[AppPage, list[float], float]:
    """The explorer with the random H-unit checkpoint uploaded and fed ``reps`` T-character
    texts: (the page, ms from each text committed to a chart drawn, MB of the largest
    websocket message of the last one)."""
    app = AppPage(browser, f"{url}/Explorer")
    with app.changing(timeout_ms=300_000):
        app.select("Model", "upload a file")
        app.upload("Model file", path)
    firsts = []
    for k in range(reps):
        n = len(app.received_bytes)
        firsts.append(timed(app, partial(app.type_text, "Input", random_text(T, 7 * k + H)),
                            True, timeout_s=300))
    return app, firsts, max(app.received_bytes[n:], default=0) / 2**20


def explorer_window(browser, url: str, before: str | None, reps: int, sizes,
                    tmp: pathlib.Path) -> None:
    for H, T in sizes:
        path = tmp / f"random_{H}.pt"
        path.write_bytes(checkpoint(H))
        if before:
            app, firsts, mb = loaded_explorer(browser, before, H, T, path, reps)
            try:
                report(f"before {H}x{T}: text committed -> chart", firsts, None)
                print(f"    largest message {mb:.2f} MB", flush=True)
                slides = [timed(app, partial(app.slide, "Window start"), True)
                          for _ in range(reps)]
                report(f"before {H}x{T}: window slider -> redrawn", slides, None)
            finally:
                app.close()
        app, firsts, mb = loaded_explorer(browser, url, H, T, path, reps)
        try:
            report(f"after {H}x{T}: text committed -> chart", firsts, None)
            pan = app.page.evaluate("() => window.__gruviz_pan.data")
            print(f"    largest message {mb:.2f} MB; the page holds steps {pan['span']} of "
                  f"{T}, a window of {pan['size']}", flush=True)
            moves = [bar_key(app, "ArrowRight", k + 1) for k in range(reps)]
            report(f"after {H}x{T}: window key -> redrawn", moves, None)
            sent = app.page.evaluate(MOVE_SENDS)
            print(f"    messages sent by the {reps} moves: {sent} (goal 0)", flush=True)
            assert sent == 0, "a window move inside the page's span sent a message"
            relayout_variants(app, H, T, 2 * reps)
            if pan["span"] != [0, T]:
                jumps = []
                for _ in range(max(1, reps // 2)):
                    jumps.append(bar_key(app, "End", T - pan["size"], 300))
                    app.wait_idle()
                    jumps.append(bar_key(app, "Home", 0, 300))
                    app.wait_idle()
                report(f"after {H}x{T}: jump beyond the span -> redrawn", jumps, None)
        finally:
            app.close()


def main(reps: int = 5, pages: tuple[str, ...] = ("playground", "sliders", "explorer", "time",
                                                  "navigation", "window")) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Debian's chromium (apt-get install chromium) and playwright")
    sizes = [(64, 1000), (256, 1000), (256, 5000)]
    before_root = os.environ.get("GRUVIZ_BEFORE") if "window" in pages else None
    with tempfile.TemporaryDirectory() as tmp, \
            open(pathlib.Path(tmp) / "streamlit.log", "w") as log, \
            serve(ROOT, log) as (url, _pid), sync_playwright() as p, \
            (serve(pathlib.Path(before_root), log) if before_root
             else contextlib.nullcontext((None, None))) as (before, _):
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for page in ("Playground", "Explorer"):  # warm the servers: imports, asset caches
            for server in (url, before) if before else (url,):
                AppPage(browser, f"{server}/{page}").close()
        print(f"Chromium {browser.version}, {reps} repetitions each, server {url}, load "
              f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        if "playground" in pages:
            playground(browser, url, reps)
        if "sliders" in pages:
            sliders(browser, url, reps)
        if "explorer" in pages:
            explorer(browser, url, reps, sizes, pathlib.Path(tmp))
        if "time" in pages:
            time_in_browser(browser, url, reps)
        if "navigation" in pages:
            navigation(browser, url, reps)
        if "window" in pages:
            explorer_window(browser, url, before, reps, sizes, pathlib.Path(tmp))
            print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)
        browser.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if sys.argv[1:] else 5,
         tuple(sys.argv[2:]) or ("playground", "sliders", "explorer", "time", "navigation",
                                 "window"))
