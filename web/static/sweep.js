// The sweep page, live: GET /api/sweeps/<id> until the sweep ends; one chart of throughput
// against workers with the linear ideal and the fitted USL curve.
import {
  PLOTLY_FONT, esc, fixed, getJSON, plot, number, percent, poll, rate, seconds, setText,
} from "./fanout.js";

const root = document.querySelector(".sweep-root");
const sweepId = root.dataset.sweepId;
const pollMs = Number(root.dataset.pollMs) || 1000;
const chart = document.getElementById("sweep-chart");

function fitText(sweep) {
  const f = sweep.fit;
  if (!f) return sweep.fit_note;
  const peak = f.peak_n ? `throughput peaks at N* ≈ ${fixed(f.peak_n, 1)}` : "no peak (κ = 0)";
  const knee = f.knee_n ? `; from N = ${f.knee_n} one more worker adds less than 10 % of one worker's throughput` : "";
  return `σ (contention) = ${fixed(f.sigma, 4)}, κ (coherency) = ${fixed(f.kappa, 5)}, `
    + `λ = ${fixed(f.lam, 2)} tasks/s, R² = ${fixed(f.r2, 3)}; ${peak}${knee}.`;
}

function fitCell(p) {
  if (p.fitted) return "fitted";
  if (p.marks.length) return `left out of the fit: ${esc(p.marks.join("; "))}`;
  return '<span class="muted">no throughput</span>';
}

function row(p) {
  const busy = p.busy
    ? ' <span class="badge state-failed" title="More than a quarter of a core busy with other work: the point may be distorted">busy</span>'
    : "";
  return `<tr${p.marks.length ? ' class="marked"' : ""}><td class="num">${p.workers}</td><td class="num">${rate(p.throughput)}</td>
    <td class="num">${seconds(p.wall_s)}</td><td class="num">${percent(p.efficiency)}</td>
    <td class="num">${number("cores", p.others_cores)}${busy}</td>
    <td><a href="/runs/${encodeURIComponent(p.run_id)}"><code>${esc(p.run_id)}</code></a></td>
    <td>${fitCell(p)}</td></tr>`;
}

function render(sweep) {
  root.dataset.state = sweep.state;
  setText(root, '[data-s="state"]', sweep.state);
  const error = root.querySelector('[data-s="error"]');
  error.hidden = !sweep.error;
  error.textContent = sweep.error || "";
  setText(root, '[data-s="fit"]', fitText(sweep));
  const marked = root.querySelector('[data-s="marked"]');
  marked.hidden = !sweep.fit_note_marked;
  marked.textContent = sweep.fit_note_marked || "";
  root.querySelector("[data-sweep-rows]").innerHTML = sweep.points.length
    ? sweep.points.map(row).join("")
    : '<tr><td colspan="7" class="empty">No point yet.</td></tr>';
  const fitted = sweep.points.filter((p) => p.fitted);
  const left = sweep.points.filter((p) => !p.fitted && p.throughput);
  const traces = [{
    type: "scatter", mode: "markers", name: "measured",
    x: fitted.map((p) => p.workers), y: fitted.map((p) => p.throughput),
    marker: { color: "#4f46e5", size: 10 },
    hovertemplate: "%{x} workers: %{y:.1f} tasks/s<extra></extra>",
  }];
  if (left.length) {
    traces.push({
      type: "scatter", mode: "markers", name: "left out of the fit",
      x: left.map((p) => p.workers), y: left.map((p) => p.throughput),
      text: left.map((p) => p.marks.join("; ")),
      marker: { color: "#dc2626", size: 10, symbol: "x" },
      hovertemplate: "%{x} workers: %{y:.1f} tasks/s (%{text})<extra></extra>",
    });
  }
  if (sweep.ideal) {
    traces.push({
      type: "scatter", mode: "lines", name: "linear ideal", x: sweep.ideal.n, y: sweep.ideal.x,
      line: { color: "#94a3b8", dash: "dash" }, hoverinfo: "skip",
    });
  }
  if (sweep.curve) {
    traces.push({
      type: "scatter", mode: "lines", name: "USL fit", x: sweep.curve.n, y: sweep.curve.x,
      line: { color: "#f59e0b", width: 2 },
      hovertemplate: "N = %{x:.1f}: %{y:.1f} tasks/s<extra></extra>",
    });
  }
  const layout = {
    height: 360, margin: { l: 60, r: 20, t: 30, b: 50 },
    font: PLOTLY_FONT, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    xaxis: { title: { text: "workers (N)" }, gridcolor: "#e2e8f0", rangemode: "tozero" },
    yaxis: { title: { text: "throughput (tasks / s)" }, gridcolor: "#e2e8f0", rangemode: "tozero" },
    uirevision: "sweep",
  };
  plot(chart, traces, layout);
  chart.dataset.points = String(sweep.points.length);
  chart.dataset.traces = String(traces.length);
}

poll(async () => {
  const sweep = await getJSON(`/api/sweeps/${encodeURIComponent(sweepId)}`);
  render(sweep);
  return sweep.state === "queued" || sweep.state === "running";
}, pollMs);
