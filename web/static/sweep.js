// The sweep page, live: until the sweep ends, reads the page again and puts the server's
// rendering of its state, fit and points in place (refreshLive); one chart of throughput against
// workers with the linear ideal and the fitted USL curve, from the figures the page carries.
import { chartFrame, colour, pageData, plot, poll, refreshLive } from "./fanout.js";

const root = document.querySelector(".sweep-root");
const pollMs = Number(root.dataset.pollMs) || 1000;
const chart = document.getElementById("sweep-chart");

function render(sweep) {
  root.dataset.state = sweep.state;
  const points = sweep.points.map((workers, i) => ({
    workers, throughput: sweep.throughput[i], fitted: sweep.fitted[i], marks: sweep.marks[i],
  }));
  const fitted = points.filter((p) => p.fitted);
  const left = points.filter((p) => !p.fitted && p.throughput);
  const traces = [{
    type: "scatter", mode: "markers", name: "measured",
    x: fitted.map((p) => p.workers), y: fitted.map((p) => p.throughput),
    marker: { color: colour("chart-primary"), size: 10 },
    hovertemplate: "%{x} workers: %{y:.1f} tasks/s<extra></extra>",
  }];
  if (left.length) {
    traces.push({
      type: "scatter", mode: "markers", name: "left out of the fit",
      x: left.map((p) => p.workers), y: left.map((p) => p.throughput),
      text: left.map((p) => p.marks.join("; ")),
      marker: { color: colour("chart-left-out"), size: 10, symbol: "x" },
      hovertemplate: "%{x} workers: %{y:.1f} tasks/s (%{text})<extra></extra>",
    });
  }
  if (sweep.ideal) {
    traces.push({
      type: "scatter", mode: "lines", name: "linear ideal", x: sweep.ideal.n, y: sweep.ideal.x,
      line: { color: colour("chart-guide"), dash: "dash" }, hoverinfo: "skip",
    });
  }
  if (sweep.curve) {
    traces.push({
      type: "scatter", mode: "lines", name: "USL fit", x: sweep.curve.n, y: sweep.curve.x,
      line: { color: colour("chart-secondary"), width: 2 },
      hovertemplate: "N = %{x:.1f}: %{y:.1f} tasks/s<extra></extra>",
    });
  }
  const layout = {
    height: 360, margin: { l: 60, r: 20, t: 30, b: 50 },
    ...chartFrame(),
    xaxis: { title: { text: "workers (N)" }, gridcolor: colour("chart-grid"), rangemode: "tozero" },
    yaxis: { title: { text: "throughput (tasks / s)" }, gridcolor: colour("chart-grid"), rangemode: "tozero" },
    uirevision: "sweep",
  };
  plot(chart, traces, layout);
  chart.dataset.points = String(points.length);
  chart.dataset.traces = String(traces.length);
}

poll(async () => {
  const sweep = pageData(await refreshLive(), "sweep-data");
  render(sweep);
  return sweep.state === "queued" || sweep.state === "running";
}, pollMs);
