// What every gru-viz component shares (Streamlit components v2, inline, no build step):
// gru_viz.ui.components.declare puts this before each component's own script, which ends
// with `export default mounted(Widget)`.

// Streamlit calls a component's default export on every run, with the same parentElement
// while the element stays: one widget lives on that element, takes each run's data (and the
// setter of the component's state), and is destroyed when Streamlit unmounts the element.
function mounted(Widget) {
  return function (component) {
    const { data, parentElement, setStateValue } = component;
    let widget = parentElement.__gruviz;
    if (!widget) {
      widget = new Widget(parentElement);
      parentElement.__gruviz = widget;
    }
    widget.setState = setStateValue;
    widget.update(data);
    return () => {
      widget.destroy();
      parentElement.__gruviz = undefined;
    };
  };
}

// An element with a class, in parent, holding text (as text, never as HTML).
function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

// The Plotly chart drawn in the Streamlit element keyed `key` (Streamlit gives the element
// the class st-key-<key>, other characters than letters, digits, _ and - written as -).
function plotlyChart(key) {
  return document.querySelector(`.st-key-${key.replace(/[^A-Za-z0-9_-]/g, "-")} .js-plotly-plot`);
}
