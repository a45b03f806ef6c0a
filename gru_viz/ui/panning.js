// gru-viz window bar (Streamlit components v2, inline, no build step, nothing fetched).
//
// The Explorer sends a span of a long run at full resolution once (the whole run when it
// fits the chart budget); this bar moves the chart's x range over that span with
// Plotly.relayout: no rerun, no message to the server. The chart carries ticks for its whole
// span, so the range is all that changes.
// A window beyond the span asks the server for a new span at once (state "start"); within
// it, the server hears of the window only once moving has been idle 2 s, and the link
// (?win=) follows at once with history.replaceState.

const IDLE_MS = 2000;

class Pan {
  constructor(parent) {
    this.start = 0;
    this.sent = null; // the last start told to the server
    this.lastStart = null; // the server's start in the last data
    this.idle = null;
    this.raf = null;
    this.waits = 0; // draws put off in a row, waiting for the chart
    this.onPlot = () => this.soon();
    this.root = el("div", "gv-pan", parent);
    this.back = el("button", "btn", this.root, "◀ earlier");
    const slide = el("label", "slide", this.root);
    this.range = el("input", "range", slide);
    this.range.type = "range";
    this.range.min = 0;
    this.range.step = 1;
    this.range.setAttribute("aria-label", "window start");
    this.fwd = el("button", "btn", this.root, "later ▶");
    this.now = el("span", "now", this.root);
    this.range.oninput = () => this.go(+this.range.value);
    this.back.onclick = () => this.go(this.start - this.jump());
    this.fwd.onclick = () => this.go(this.start + this.jump());
    window.__gruviz_pan = this; // for tests and benchmarks
  }

  jump() {
    return Math.max(1, Math.floor(this.data.size / 2));
  }

  update(data) {
    this.data = data;
    this.range.max = data.T - data.size;
    if (data.start !== this.lastStart && data.start !== this.sent) {
      this.start = data.start; // the server moved the window (a link, a new input)
    }
    this.lastStart = data.start;
    this.start = Math.max(0, Math.min(this.start, data.T - data.size));
    delete this.root.dataset.loading;
    this.show();
    this.draw();
  }

  go(s) {
    const d = this.data;
    s = Math.max(0, Math.min(Math.round(s), d.T - d.size));
    if (s === this.start) return;
    this.start = s;
    this.show();
    this.writeUrl();
    clearTimeout(this.idle);
    if (s < d.span[0] || s + d.size > d.span[1]) { // beyond what the browser holds
      this.root.dataset.loading = "1";
      this.tell();
      return;
    }
    this.soon();
    this.idle = setTimeout(() => this.tell(), IDLE_MS);
  }

  soon() {
    // one relayout per frame however fast the bar moves
    if (this.raf === null) {
      this.raf = requestAnimationFrame(() => { this.raf = null; this.draw(); });
    }
  }

  tell() {
    if (this.start === this.sent || !this.setState) return;
    this.sent = this.start;
    this.setState("start", this.start);
  }

  show() {
    const d = this.data, s = this.start;
    this.range.value = s;
    this.now.textContent = `steps ${s}–${s + d.size - 1} of ${d.T}`;
    this.root.dataset.start = String(s);
  }

  chart() {
    return plotlyChart(this.data.chart);
  }

  draw() {
    // the chart may not be drawn yet (it comes after the bar, or is being remounted)
    const d = this.data, gd = this.chart(), P = window.Plotly;
    if (!gd || !gd._fullLayout || !gd.data || !P) {
      clearTimeout(this.retry);
      // for 10 s at most: a chart that never comes (Plotly failed to load) is not polled for
      // as long as the page is open; the next move of the bar looks again
      if (++this.waits <= 100) this.retry = setTimeout(() => this.draw(), 100);
      return;
    }
    this.waits = 0;
    if (gd !== this.gd) { // a chart element we have not seen: keep its range ours after any
      this.forget();      // redraw of Streamlit's (a resize, a rerun's new layout)
      this.gd = gd;
      gd.on("plotly_afterplot", this.onPlot);
    }
    // the steps this chart element holds, from the chart itself (it may be an old one)
    const meta = (gd.data[0] && gd.data[0].meta) || { first: 0, stop: 0 };
    const s = this.start, e = s + d.size;
    if (s < meta.first || e > meta.stop) return; // a new span is on its way
    const range = (gd.layout.xaxis || {}).range || [];
    if (range[0] === s - 0.5 && range[1] === e - 0.5) return;
    // the ticks cover the span already: a change of range alone is Plotly's cheapest redraw
    P.relayout(gd, { "xaxis.range": [s - 0.5, e - 0.5] });
  }

  writeUrl() {
    try {
      const u = new URL(window.location.href);
      u.searchParams.set("win", String(this.start));
      window.history.replaceState(window.history.state, "", u.toString());
    } catch (e) { /* a sandboxed page without history: the link keeps the server's window */ }
  }

  // The chart drawn in place outlives a bar (a new input's bar has a new key): a bar gone
  // must not keep setting that chart's range.
  forget() {
    if (this.gd) this.gd.removeListener("plotly_afterplot", this.onPlot);
    this.gd = null;
  }

  destroy() {
    this.forget();
    clearTimeout(this.idle);
    clearTimeout(this.retry);
    if (this.raf !== null) cancelAnimationFrame(this.raf);
    this.root.remove();
    if (window.__gruviz_pan === this) window.__gruviz_pan = undefined;
  }
}

export default mounted(Pan); // components.js
