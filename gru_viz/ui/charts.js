// gru-viz chart drawn in place (Streamlit components v2, inline, no build step).
//
// st.plotly_chart names its element by a hash of the figure, so new numbers mount a new
// chart: the old one is gone and the new one drawn from nothing (hundreds of ms, a blank
// frame). Here the figure is drawn on a div this component owns, and new data (a weight
// changed) goes to the same div through Plotly.react: the chart is redrawn, never removed.
//
// Plotly is the copy Streamlit serves (its own Plotly chunk sets window.Plotly): when the
// page has not loaded it yet, the chunk is imported from the same server, by the file name
// the Python side found in Streamlit's static folder (PLOTLY_CHUNK, put before this script).
// Nothing is fetched from elsewhere. Each run's data is the figure's JSON as UTF-8 bytes.
// Colours follow the app's theme (light or dark) through the --st-* CSS variables.

function plotly(chunk) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__gruvizPlotly) {
    // Streamlit's own entry script sits beside its chunks (static/js/), under any base path
    const entry = document.querySelector('script[type="module"][src*="/static/js/index."]');
    const url = new URL(chunk, entry ? entry.src : new URL("static/js/", document.baseURI));
    window.__gruvizPlotly = import(url.href).then(() => window.Plotly);
  }
  return window.__gruvizPlotly;
}

function theme(host) {
  const css = getComputedStyle(host);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const text = v("--st-text-color", "#31333f"), bg = v("--st-background-color", "#fff");
  const font = v("--st-font", "sans-serif"), grid = v("--st-border-color-light", "#e6eaf1");
  // ticklabeloverflow "allow": the margins hold the labels already (automargin); Plotly's
  // default would measure every tick label on every redraw to hide any that overflows
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid, tickcolor: grid,
                 automargin: true, ticklabeloverflow: "allow" };
  return {
    font: { color: text, family: font },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    xaxis: { ...axis, showgrid: false, zeroline: false }, yaxis: axis,
    hoverlabel: { bgcolor: bg, bordercolor: v("--st-border-color", grid),
                  font: { color: text, family: font } },
    coloraxis: { colorbar: { thickness: 16, outlinewidth: 0 } },
    legend: { bordercolor: "rgba(0,0,0,0)", borderwidth: 0 },
  };
}

const CONFIG = { displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

class Chart {
  constructor(parent) {
    this.box = document.createElement("div");
    this.box.className = "gvc";
    parent.appendChild(this.box);
    this.width = 0;
    this.resizer = new ResizeObserver(() => {
      const w = this.box.clientWidth;
      if (this.drawn && Math.abs(w - this.width) > 2) {
        this.width = w;
        window.Plotly.Plots.resize(this.box);
      }
    });
    this.resizer.observe(this.box);
  }

  update(data) {
    const figure = new TextDecoder().decode(data);
    // the same template object while the theme stays: Plotly.react then finds it unchanged
    const look = theme(this.box), key = JSON.stringify(look);
    if (figure === this.figure && key === this.look) return; // nothing drawn here changed
    if (key !== this.look) { this.look = key; this.template = { layout: look }; }
    this.figure = figure;
    const fig = JSON.parse(figure);
    const layout = fig.layout || {};
    // the height is known before Plotly is: the page below never jumps
    this.box.style.height = `${layout.height || 450}px`;
    layout.template = this.template;
    this.want = fig;
    plotly(PLOTLY_CHUNK).then((P) => {
      if (this.want !== fig || !this.box.isConnected) return; // newer data came meanwhile
      this.width = this.box.clientWidth;
      P.react(this.box, fig.data, layout, CONFIG);
      this.drawn = true;
    }, () => { // Streamlit no longer serves that chunk: say so where the chart would be
      this.box.textContent = "The chart needs Plotly, which this server did not send.";
    });
  }

  destroy() {
    this.resizer.disconnect();
    if (window.Plotly) window.Plotly.purge(this.box);
  }
}

export default mounted(Chart); // components.js
