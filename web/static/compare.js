// The compare page, live: the table and bar chart from GET /api/compare/<id>?tasks=false, and
// each run's timeline from GET /api/runs/<id> until that run is done, all on one time scale.
import {
  PLOTLY_CONFIG, PLOTLY_FONT, getJSON, percent, poll, seconds, setText, times,
} from "./fanout.js";
import { drawTimeline, labelWidth, timelineData } from "./timeline.js";

const root = document.querySelector("[data-comparison-id]");
const comparisonId = root.dataset.comparisonId;
const pollMs = Math.max(700, Number(root.dataset.pollMs) || 700);
const chart = document.getElementById("compare-chart");
const records = new Map(); // run id -> full run record, refetched until done
let drawnScale = 0;
let drawnMargin = 0;

function speedups(comparison) {
  const sequential = comparison.runs.find((r) => r.spec.strategy === "sequential" && r.state === "done");
  const baseline = sequential ? sequential.summary.wall_s : null;
  return new Map(comparison.runs.map((r) => [
    r.id, baseline && r.summary.wall_s ? baseline / r.summary.wall_s : null,
  ]));
}

function renderTable(comparison, vsSequential) {
  for (const run of comparison.runs) {
    const row = root.querySelector(`[data-run-row="${CSS.escape(run.id)}"]`);
    if (!row) continue;
    const s = run.summary;
    const badge = row.querySelector("[data-run-state]");
    badge.textContent = run.state;
    badge.className = `badge run-${run.state}`;
    setText(row, '[data-f="progress"]', `${run.done}/${run.total}`);
    setText(row, '[data-f="wall_s"]', seconds(s.wall_s));
    setText(row, '[data-f="ideal_s"]', seconds(s.ideal_s));
    setText(row, '[data-f="efficiency"]', percent(s.efficiency));
    setText(row, '[data-f="vs_sequential"]', times(vsSequential.get(run.id)));
    setText(row, '[data-f="speedup"]', times(s.speedup));
    setText(row, '[data-f="peak_concurrency"]', String(s.peak_concurrency));
    setText(row, '[data-f="ok"]', `${run.counts.ok}/${run.total}`);
  }
}

function renderChart(comparison, vsSequential) {
  const runs = comparison.runs;
  const names = runs.map((r) => r.spec.strategy);
  const done = (r) => r.state === "done";
  const wall = runs.map((r) => (done(r) ? r.summary.wall_s : null));
  const ideal = runs.map((r) => (done(r) ? r.summary.ideal_s : null));
  const top = Math.max(0.001, ...wall.filter((v) => v != null), ...ideal.filter((v) => v != null));
  const annotations = runs.map((r, i) => {
    const x = vsSequential.get(r.id);
    return {
      x: names[i], y: done(r) ? Math.max(wall[i], ideal[i]) : 0, yanchor: "bottom", yshift: 4,
      showarrow: false, font: { size: 12, color: "#0f172a" },
      text: done(r) ? (x ? `<b>${times(x)}</b> vs sequential` : seconds(r.summary.wall_s)) : r.state,
    };
  });
  const traces = [
    {
      type: "bar", name: "wall time", x: names, y: wall, marker: { color: "#4f46e5" },
      hovertemplate: "%{x}: %{y:.3f} s<extra>wall time</extra>",
    },
    {
      type: "bar", name: "ideal lower bound", x: names, y: ideal, marker: { color: "#a5b4fc" },
      hovertemplate: "%{x}: %{y:.3f} s<extra>ideal lower bound</extra>",
    },
  ];
  const layout = {
    barmode: "group", bargap: 0.3, height: 320, annotations,
    margin: { l: 56, r: 16, t: 30, b: 40 },
    font: PLOTLY_FONT, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    yaxis: { title: { text: "seconds" }, gridcolor: "#e2e8f0", range: [0, top * 1.18], ticksuffix: " s" },
    xaxis: { categoryorder: "array", categoryarray: names },
  };
  window.Plotly.react(chart, traces, layout, PLOTLY_CONFIG);
}

async function refreshTimelines(comparison) {
  let changed = false;
  for (const run of comparison.runs) {
    const known = records.get(run.id);
    if (run.state === "queued" || (known && known.state === "done")) continue;
    records.set(run.id, await getJSON(`/api/runs/${encodeURIComponent(run.id)}`));
    changed = true;
  }
  let scale = 0;
  let marginLeft = 0;
  for (const record of records.values()) {
    scale = Math.max(scale, timelineData(record, record.now).end);
    marginLeft = Math.max(marginLeft, labelWidth(record, record.now));
  }
  scale = Math.max(scale * 1.02, 0.01);
  const rescale = scale > drawnScale * 1.001 || scale < drawnScale * 0.999 || marginLeft !== drawnMargin;
  if (!changed && !rescale) return;
  drawnScale = scale;
  drawnMargin = marginLeft;
  for (const run of comparison.runs) {
    const record = records.get(run.id);
    const el = root.querySelector(`[data-timeline-for="${CSS.escape(run.id)}"]`);
    const note = root.querySelector(`[data-stack-note="${CSS.escape(run.id)}"]`);
    if (!record) {
      if (note) note.textContent = "queued: runs after the ones above";
      continue;
    }
    drawTimeline(el, record, { compact: true, xMax: scale, marginLeft });
    if (note) {
      note.textContent = record.state === "done"
        ? `${seconds(record.summary.wall_s)} · efficiency ${percent(record.summary.efficiency)}`
        : `${record.state} · ${record.done}/${record.total}`;
    }
    if (record.state === "done") el.dataset.final = "true";
  }
}

poll(async () => {
  const comparison = await getJSON(`/api/compare/${encodeURIComponent(comparisonId)}?tasks=false`);
  const vsSequential = speedups(comparison);
  renderTable(comparison, vsSequential);
  renderChart(comparison, vsSequential);
  await refreshTimelines(comparison);
  root.dataset.state = comparison.state;
  const badge = root.querySelector("h1 [data-run-state]");
  badge.textContent = comparison.state;
  badge.className = `badge run-${comparison.state}`;
  const allDrawn = comparison.runs.every((r) => records.get(r.id)?.state === "done");
  return !(comparison.state === "done" && allDrawn);
}, pollMs);
