// The compare page, live: the table and bar chart from GET /api/compare/<id>?tasks=false, and
// each run's timeline from GET /api/runs/<id> until that run is done, all on one time scale.
// Figures that may still change are greyed "so far", with no verdict (compare_rows.js); the
// chart shows only final strategies, and an empty state until the first one is.
import {
  PLOTLY_FONT, RUN_STATE_LABELS, esc, getJSON, percent, plot, poll, seconds,
} from "./fanout.js";
import { compareRowHtml, compareRows } from "./compare_rows.js";
import { RunTimeline } from "./runtimeline.js";

const root = document.querySelector("[data-comparison-id]");
const comparisonId = root.dataset.comparisonId;
const pollMs = Math.max(700, Number(root.dataset.pollMs) || 700);
const chart = document.getElementById("compare-chart");
const chartEmpty = root.querySelector("[data-chart-empty]");
const tbody = root.querySelector("[data-compare-rows]");
const timelines = new Map(); // run id -> RunTimeline, read until its run is final
let tableHtml = "";
let drawnScale = 0;
let drawnMargin = 0;

function renderTable(rows) {
  const html = rows.map(compareRowHtml).join("");
  if (html !== tableHtml) tbody.innerHTML = html;
  tableHtml = html;
  const busy = rows.filter((r) => r.busy).map((r) => r.strategy);
  root.querySelector("[data-busy-warning]").hidden = busy.length === 0;
  root.querySelector("[data-busy-strategies]").textContent = busy.join(", ");
}

// The distance from a median to its max (or min): Plotly's asymmetric error bars.
function whiskers(rows, name, side) {
  return rows.map((r) => {
    const stats = r.final ? r.stats[name] : null;
    if (!stats || !r.figures[name].range) return null;
    return side === "max" ? stats.max - stats.median : stats.median - stats.min;
  });
}

function annotation(row, wall, ideal) {
  const muted = { size: 12, color: "#64748b" };
  if (!row.final) {
    return { x: row.strategy, y: 0, text: esc(`${row.state} · ${row.progress}`), font: muted };
  }
  const text = row.verdict ? `<b>${esc(row.verdict.text)}</b> vs sequential` : esc(row.figures.wall_s.text);
  const top = Math.max(row.stats.wall_s?.max ?? wall ?? 0, ideal ?? 0);
  return { x: row.strategy, y: top, text, font: { size: 12, color: "#0f172a" } };
}

function renderChart(rows) {
  const anyFinal = rows.some((r) => r.final);
  chartEmpty.hidden = anyFinal;
  chart.hidden = !anyFinal;
  if (!anyFinal) return;
  const names = rows.map((r) => r.strategy);
  const median = (name) => rows.map((r) => (r.final ? r.stats[name]?.median ?? null : null));
  const wall = median("wall_s");
  const ideal = median("ideal_s");
  const plus = whiskers(rows, "wall_s", "max");
  const minus = whiskers(rows, "wall_s", "min");
  const tops = rows.map((r, i) => Math.max(r.final ? r.stats.wall_s?.max ?? 0 : 0, ideal[i] ?? 0));
  const top = Math.max(0.001, ...tops);
  const annotations = rows.map((r, i) => ({
    ...annotation(r, wall[i], ideal[i]), yanchor: "bottom", yshift: 4, showarrow: false,
  }));
  const traces = [
    {
      type: "bar", name: "wall time", x: names, y: wall, marker: { color: "#4f46e5" },
      error_y: {
        type: "data", symmetric: false, array: plus, arrayminus: minus,
        visible: plus.some((v) => v != null), color: "#1e1b4b", thickness: 1.5, width: 6,
      },
      hovertemplate: "%{x}: %{y:.3f} s<extra>wall time (median)</extra>",
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
  plot(chart, traces, layout);
}

// "threads · run 2 of 3" when each strategy runs several times (compareview.compare_context).
function labelTimelines(comparison) {
  const repeat = comparison.repeat || 1;
  if (repeat < 2) return;
  for (const run of comparison.runs) {
    const label = root.querySelector(`[data-stack-label="${CSS.escape(run.id)}"]`);
    if (label && run.repeat_index != null) {
      label.textContent = `${run.spec.strategy} · run ${run.repeat_index + 1} of ${repeat}`;
    }
  }
}

// Each run's timeline from GET /api/runs/<id>/timeline (bounded, whatever the run's size)
// until it is final; all drawn to one time scale and one label width.
async function refreshTimelines(comparison) {
  let changed = false;
  for (const run of comparison.runs) {
    const el = root.querySelector(`[data-timeline-for="${CSS.escape(run.id)}"]`);
    const note = root.querySelector(`[data-stack-note="${CSS.escape(run.id)}"]`);
    if (run.state === "queued") {
      if (note) note.textContent = "queued: runs after the ones above";
      continue;
    }
    if (!el) continue;
    let timeline = timelines.get(run.id);
    if (!timeline) {
      timeline = new RunTimeline(el, run.id, { compact: true });
      timelines.set(run.id, timeline);
    }
    if (!timeline.data?.final) changed = (await timeline.load(run)) || changed;
    if (note) {
      note.textContent = run.state === "done"
        ? `${seconds(run.summary.wall_s)} · efficiency ${percent(run.summary.efficiency)}`
        : `${run.state} · ${run.done}/${run.total}`;
    }
  }
  const drawn = [...timelines.values()].filter((t) => t.data);
  const scale = Math.max(0.01, 1.02 * Math.max(0, ...drawn.map((t) => t.data.end)));
  const marginLeft = Math.max(0, ...drawn.map((t) => t.labelWidth()));
  const rescale = scale > drawnScale * 1.001 || scale < drawnScale * 0.999 || marginLeft !== drawnMargin;
  if (!changed && !rescale) return;
  drawnScale = scale;
  drawnMargin = marginLeft;
  for (const timeline of drawn) {
    Object.assign(timeline.options, { xMax: scale, marginLeft });
    timeline.draw();
  }
}

poll(async () => {
  const comparison = await getJSON(`/api/compare/${encodeURIComponent(comparisonId)}?tasks=false`);
  const rows = compareRows(comparison);
  renderTable(rows);
  renderChart(rows);
  labelTimelines(comparison);
  await refreshTimelines(comparison);
  root.dataset.state = comparison.state;
  const badge = root.querySelector("h1 [data-run-state]");
  badge.textContent = RUN_STATE_LABELS[comparison.state] ?? comparison.state;
  badge.className = `badge run-${comparison.state}`;
  const allDrawn = comparison.runs.every((r) => timelines.get(r.id)?.data?.final);
  return !(comparison.state === "done" && allDrawn);
}, pollMs);
