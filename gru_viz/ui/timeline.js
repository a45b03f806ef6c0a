// gru-viz time component (Streamlit components v2, inline, no build step, nothing fetched).
//
// The server sends a whole recorded run once; moving through time (slider, previous/next,
// play, the keyboard) happens here and sends nothing to the server. Two kinds:
//   "stepper" (Step through): controls, the step's equations with numbers, the cell diagram,
//             the step's values and a time chart of the unit, all following one cursor;
//   "clock"   (Playground): controls, the step's values, and a cursor drawn over the page's
//             Plotly charts named in data.targets (an overlay: the charts are not redrawn;
//             they are drawn in place, gru_viz/ui/charts.js, and keep their element).
// The chosen step goes into the link (?t=) with history.replaceState (no rerun); the server
// hears of it (state "t", one rerun) only when play pauses or stepping has been idle 2 s.
// The module is evaluated once; Streamlit calls the default export again on the same
// element whenever the data changes (new weights or input): the view is updated in place.

const SPEEDS = [1, 2, 4, 8, 15, 30];
const IDLE_MS = 2000;
const SVGNS = "http://www.w3.org/2000/svg";

function frame(f, t) {
  const parts = f.parts.slice();
  const vals = f.values[t];
  for (let i = 0; i < f.slots.length; i++) parts[f.slots[i]] = vals[i];
  return parts.join("");
}

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function typing(target) {
  // keys typed into another widget (text box, slider, select) are not ours
  const t = target && target.closest ? target : null;
  if (!t) return false;
  const tag = (t.tagName || "").toUpperCase();
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable
    || !!t.closest("[role=slider], [role=listbox], [role=combobox], [data-baseweb=select]");
}

class Timeline {
  constructor(parent) {
    this.parent = parent;
    this.t = 0;
    this.playing = false;
    this.loop = false;
    this.speed = 4;
    this.sentT = null;
    this.lastT0 = null;
    this.runId = null;
    this.idle = null;
    this.raf = null;
    this.overlays = new Map();
    this.root = el("div", "gv", null);
    this.root.tabIndex = 0;
    this.build();
    parent.appendChild(this.root);
    this.onKey = (e) => this.key(e);
    document.addEventListener("keydown", this.onKey);
    this.onResize = () => {
      if (this.kind === "stepper" && this.chart && Math.abs(this.chart.clientWidth - this.chartW) > 4) {
        this.buildChart();
        this.moveChartCursor();
        this.eqMin = 0; // a new width: the equations wrap anew, their reserved height too
        this.eqs.style.minHeight = "";
      }
      this.drawOverlays();
    };
    window.addEventListener("resize", this.onResize);
    this.resizer = new ResizeObserver(() => this.onResize());
    this.resizer.observe(this.root);
    window.__gruviz_timeline = this; // for tests and benchmarks
  }

  build() {
    const bar = el("div", "bar", this.root);
    this.prev = el("button", "btn", bar, "◀ previous");
    this.play = el("button", "btn play", bar, "▶ play");
    this.next = el("button", "btn", bar, "next ▶");
    const slide = el("label", "slide", bar);
    this.range = el("input", "range", slide);
    this.range.type = "range";
    this.range.min = 0;
    this.range.step = 1;
    this.range.setAttribute("aria-label", "timestep t");
    this.stepLabel = el("span", "now", bar);
    const speed = el("label", "speed", bar);
    el("span", "", speed, "speed ");
    this.speedSel = el("select", "", speed);
    for (const s of SPEEDS) {
      const o = el("option", "", this.speedSel, `${s} steps/s`);
      o.value = s;
    }
    this.speedSel.value = this.speed;
    const loop = el("label", "loop", bar);
    this.loopBox = el("input", "", loop);
    this.loopBox.type = "checkbox";
    el("span", "", loop, " loop");
    this.prev.onclick = () => { this.pause(); this.go(this.t - 1, true); };
    this.next.onclick = () => { this.pause(); this.go(this.t + 1, true); };
    this.play.onclick = () => (this.playing ? this.pause(true) : this.start());
    this.range.oninput = () => { this.pause(); this.go(+this.range.value, true); };
    this.speedSel.onchange = () => { this.speed = +this.speedSel.value; };
    this.loopBox.onchange = () => { this.loop = this.loopBox.checked; };
    this.body = el("div", "body", this.root);
  }

  layout(kind) {
    if (this.kind === kind) return;
    this.kind = kind;
    this.body.textContent = "";
    this.root.dataset.kind = kind;
    if (kind === "stepper") {
      const left = el("div", "left", this.body);
      this.heading = el("div", "heading", left);
      this.eqs = el("div", "eqs", left);
      const whys = el("details", "whys", left);
      this.whySummary = el("summary", "", whys);
      this.why = el("div", "", whys);
      const right = el("div", "right", this.body);
      this.diagram = el("div", "diagram", right);
      this.chart = el("div", "chart", right);
      this.vals = el("div", "values", left);
    } else {
      this.vals = el("div", "values", this.body);
    }
  }

  update(data) {
    this.data = data;
    this.layout(data.kind);
    const T = data.T;
    this.range.max = Math.max(0, T - 1);
    const newRun = data.run !== this.runId;
    this.runId = data.run;
    if (data.t0 !== this.lastT0 && data.t0 !== this.sentT) {
      this.t = data.t0; // the server moved the step (a link, a preset, a new input)
    }
    this.lastT0 = data.t0;
    this.t = Math.max(0, Math.min(this.t, T - 1));
    if (newRun && this.kind === "stepper") this.buildChart();
    if (newRun) this.eqMin = 0;
    this.render();
  }

  // --- moving through time ------------------------------------------------------------
  go(t, byUser) {
    const T = this.data.T;
    t = Math.max(0, Math.min(t, T - 1));
    if (t === this.t && !byUser) return;
    this.t = t;
    this.render();
    if (byUser) this.later();
  }

  start() {
    if (this.playing) return;
    if (this.t >= this.data.T - 1) this.go(0); // play from the start again
    this.playing = true;
    this.play.textContent = "❚❚ pause";
    this.root.dataset.playing = "1";
    let last = performance.now();
    let due = 0;
    const tick = (now) => {
      if (!this.playing) return;
      due += now - last;
      last = now;
      const period = 1000 / this.speed;
      if (due >= period) {
        // keep the chosen speed when frames are slow (a busy machine): up to 3 steps per
        // frame, only the last drawn; after a longer stall, no burst
        const n = Math.min(3, Math.floor(due / period));
        due = Math.min(due - n * period, period);
        if (this.t >= this.data.T - 1) {
          if (this.loop) this.go(0);
          else { this.pause(true); return; }
        } else {
          this.go(Math.min(this.t + n, this.data.T - 1));
        }
      }
      this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  pause(tell) {
    if (!this.playing) return;
    this.playing = false;
    cancelAnimationFrame(this.raf);
    this.play.textContent = "▶ play";
    delete this.root.dataset.playing;
    if (tell) this.later(400);
  }

  later(ms = IDLE_MS) {
    // the link now; the server once the class has stopped moving
    this.writeUrl();
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.playing || this.t === this.sentT || !this.setState) return;
      this.sentT = this.t;
      this.setState("t", this.t);
    }, ms);
  }

  writeUrl() {
    try {
      const u = new URL(window.location.href);
      if (u.searchParams.get("t") === String(this.t)) return;
      u.searchParams.set("t", String(this.t));
      window.history.replaceState(window.history.state, "", u.toString());
    } catch (e) { /* a sandboxed page without history: the link keeps the server's step */ }
  }

  key(e) {
    if (!this.root.isConnected || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const inside = this.root.contains(e.target) || (e.composedPath && e.composedPath().includes(this.root));
    if (!inside && typing(e.target)) return;
    if (inside && e.target !== this.root && e.target !== this.range && e.key === " ") return;
    const T = this.data.T;
    const moves = { ArrowRight: 1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
    if (e.key in moves) { this.pause(); this.go(this.t + moves[e.key], true); }
    else if (e.key === "Home") { this.pause(); this.go(0, true); }
    else if (e.key === "End") { this.pause(); this.go(T - 1, true); }
    else if (e.key === " " || e.key === "k") { this.playing ? this.pause(true) : this.start(); }
    else return;
    e.preventDefault();
    e.stopPropagation();
  }

  // --- drawing ------------------------------------------------------------------------
  render() {
    const d = this.data, t = this.t;
    this.range.value = t;
    this.root.dataset.t = t;
    this.stepLabel.textContent = `t = ${t} of ${d.T - 1} · input ${d.labels[t]}`;
    this.prev.disabled = t <= 0;
    this.next.disabled = t >= d.T - 1;
    this.vals.innerHTML = frame(d.values, t);
    if (this.kind === "stepper") {
      this.heading.textContent = "";
      el("b", "", this.heading, `Step t = ${t}`);
      this.heading.appendChild(document.createTextNode(
        `, input ${d.labels[t]}` + (d.full ? "" : `; numbers for unit ${d.unit}`)));
      this.eqs.innerHTML = frame(d.equations, t);
      this.whySummary.textContent = `What decided unit ${d.unit}'s numbers`;
      this.why.innerHTML = frame(d.why, t);
      // grow only: a longer sentence at some step never makes the page below jump back
      const h = this.eqs.offsetHeight;
      if (h > (this.eqMin || 0)) { this.eqMin = h; this.eqs.style.minHeight = `${h}px`; }
      this.diagram.innerHTML = frame(d.diagram, t);
      this.moveChartCursor();
    } else {
      this.drawOverlays();
    }
  }

  buildChart() {
    // the unit's four fields over time, one strip each, and the input under them
    // drawn in CSS pixels at the width it has (text stays 16 px), again when that changes
    const d = this.data, T = d.T, W = Math.max(300, this.chart.clientWidth || 480);
    const left = 46, right = 14, strip = 44, gap = 8;
    this.chartW = W;
    const top = 4, n = d.series.length, inputH = 44;
    const H = top + n * (strip + gap) + inputH;
    this.chart.textContent = "";
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "tchart", role: "img",
                           "aria-label": "the unit's gates and state over time" }, this.chart);
    const x = (t) => left + (T <= 1 ? 0.5 : t / (T - 1)) * (W - left - right);
    this.cx = x;
    d.series.forEach((sr, k) => {
      const y0 = top + k * (strip + gap);
      const y = (v) => y0 + strip - ((v - sr.lo) / (sr.hi - sr.lo)) * strip;
      svg("rect", { x: left, y: y0, width: W - left - right, height: strip, class: "frame" }, s);
      if (sr.lo < 0) svg("line", { x1: left, x2: W - right, y1: y(0), y2: y(0), class: "zero" }, s);
      const pts = sr.y.map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
      svg("polyline", { points: pts, class: `line f-${sr.f}` }, s);
      const lab = svg("text", { x: left - 6, y: y0 + strip / 2 + 6, class: "sym" }, s);
      lab.textContent = sr.sym;
    });
    const yi = top + n * (strip + gap);
    const lab = svg("text", { x: left - 14, y: yi + 18, class: "sym" }, s);
    lab.textContent = "x";
    const lt = svg("text", { x: left - 14, y: yi + 37, class: "sym" }, s);
    lt.textContent = "t";
    const every = Math.max(1, Math.ceil(T / Math.max(2, Math.floor((W - left) / 46))));
    this.ticks = [];
    for (let t = 0; t < T; t += every) {
      const tx = svg("text", { x: x(t), y: yi + 18, class: "tick" }, s);
      tx.textContent = d.labels[t].length > 4 ? d.labels[t].slice(0, 4) + "…" : d.labels[t];
      const tt = svg("text", { x: x(t), y: yi + 37, class: "tick t" }, s);
      tt.textContent = String(t);
    }
    this.cursor = svg("line", { y1: top - 2, y2: yi + 2, class: "cursor" }, s);
    this.dots = d.series.map((sr, k) => svg("circle", { r: 5, class: `dot f-${sr.f}` }, s));
    this.dotY = d.series.map((sr, k) => (v) => top + k * (strip + gap) + strip
                                                - ((v - sr.lo) / (sr.hi - sr.lo)) * strip);
  }

  moveChartCursor() {
    if (!this.cursor) return;
    const t = this.t, cx = this.cx(t);
    this.cursor.setAttribute("x1", cx);
    this.cursor.setAttribute("x2", cx);
    this.data.series.forEach((sr, k) => {
      this.dots[k].setAttribute("cx", cx);
      this.dots[k].setAttribute("cy", this.dotY[k](sr.y[t]));
    });
  }

  // Cursor over the Playground's Plotly charts: a box per subplot, positioned from Plotly's
  // own axis geometry (l2p, _offset, _length); the charts themselves are not redrawn.
  drawOverlays() {
    const d = this.data;
    if (!d || !d.targets) return;
    let missing = false;
    for (const target of d.targets) {
      const box = plotlyChart(target.key);
      const fl = box && box._fullLayout;
      if (!fl || !fl._plots) { missing = true; continue; }
      if (!box.__gruvizHooked && box.on) { // new data or a new size: the axes may move
        box.on("plotly_afterplot", () => this.drawOverlays());
        box.__gruvizHooked = true;
      }
      const host = box.querySelector(".svg-container") || box;
      let layer = this.overlays.get(target.key);
      if (!layer || !layer.isConnected || layer.parentNode !== host) {
        layer = document.createElement("div");
        layer.className = "gruviz-cursor";
        layer.style.cssText = "position:absolute;left:0;top:0;width:0;height:0;"
          + "pointer-events:none;z-index:5";
        host.appendChild(layer);
        this.overlays.set(target.key, layer);
      }
      const marks = [];
      for (const id in fl._plots) {
        const p = fl._plots[id], xa = p.xaxis, ya = p.yaxis;
        if (!xa || !ya || !xa.l2p) continue;
        const band = target.style === "band";
        const a = xa._offset + xa.l2p(this.t - (band ? 0.5 : 0));
        const b = xa._offset + xa.l2p(this.t + (band ? 0.5 : 0));
        const lo = Math.min(a, b), w = Math.max(band ? 3 : 2, Math.abs(b - a));
        marks.push([lo - (band ? 0 : 1), ya._offset, w, ya._length, band]);
      }
      while (layer.children.length > marks.length) layer.lastChild.remove();
      marks.forEach(([x, y, w, h, band], i) => {
        let m = layer.children[i];
        if (!m) {
          m = document.createElement("div");
          m.style.cssText = "position:absolute;box-sizing:border-box;";
          layer.appendChild(m);
        }
        m.style.left = `${x}px`;
        m.style.top = `${y}px`;
        m.style.width = `${w}px`;
        m.style.height = `${h}px`;
        m.style.border = band ? "2px solid #ff2d95" : "none";
        m.style.background = band ? "transparent" : "rgba(80,80,80,.65)";
      });
      layer.dataset.t = this.t;
    }
    if (missing && !this.retry) {
      this.retry = setTimeout(() => { this.retry = null; this.drawOverlays(); }, 200);
    }
  }

  destroy() {
    this.pause();
    clearTimeout(this.idle);
    clearTimeout(this.retry);
    document.removeEventListener("keydown", this.onKey);
    window.removeEventListener("resize", this.onResize);
    this.resizer.disconnect();
    for (const layer of this.overlays.values()) layer.remove();
    if (window.__gruviz_timeline === this) window.__gruviz_timeline = undefined;
  }
}

export default mounted(Timeline); // components.js
