// The compare page, live: until the comparison is final, reads the page again and puts the
// server's rendering of its table, notes and costs in place (refreshLive); draws the bar chart
// from the rows the page carries (web/compareview.py), and each run's timeline from
// GET /api/runs/<id>/timeline until that run's is final, all on one time scale. The chart shows
// only final strategies, and an empty state until the first one is.
import { chartFrame, colour, esc, pageData, plot, poll, refreshLive } from "./fanout.js";
import { RunTimeline } from "./runtimeline.js";

const root = document.querySelector("[data-comparison-id]");
const pollMs = Math.max(700, Number(root.dataset.pollMs) || 700);
const chart = document.getElementById("compare-chart");
const timelines = new Map(); // run id -> RunTimeline, read until its run is final
let drawnScale = 0;
let drawnMargin = 0;

// The distance from a median to its max (or min): Plotly's asymmetric error bars.
function whiskers(rows, name, side) {
  return rows.map((r) => {
    const stats = r.final ? r.stats[name] : null;
    if (!stats || !r.figures[name].range) return null;
    return side === "max" ? stats.max - stats.median : stats.median - stats.min;
  });
}

function annotation(row, wall, ideal) {
  const muted = { size: 12, color: colour("chart-muted") };
  if (!row.final) {
    return { x: row.strategy, y: 0, text: esc(`${row.state} · ${row.progress}`), font: muted };
  }
  const text = row.verdict ? `<b>${esc(row.verdict.text)}</b> vs sequential` : esc(row.figures.wall_s.text);
  const top = Math.max(row.stats.wall_s?.max ?? wall ?? 0, ideal ?? 0);
  return { x: row.strategy, y: top, text, font: { size: 12, color: colour("chart-ink") } };
}

function renderChart(rows) {
  const anyFinal = rows.some((r) => r.final);
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
      type: "bar", name: "wall time", x: names, y: wall, marker: { color: colour("chart-primary") },
      error_y: {
        type: "data", symmetric: false, array: plus, arrayminus: minus,
        visible: plus.some((v) => v != null), color: colour("chart-spread"), thickness: 1.5, width: 6,
      },
      hovertemplate: "%{x}: %{y:.3f} s<extra>wall time (median)</extra>",
    },
    {
      type: "bar", name: "ideal lower bound", x: names, y: ideal, marker: { color: colour("chart-ideal") },
      hovertemplate: "%{x}: %{y:.3f} s<extra>ideal lower bound</extra>",
    },
  ];
  const layout = {
    barmode: "group", bargap: 0.3, height: 320, annotations,
    margin: { l: 56, r: 16, t: 30, b: 40 },
    ...chartFrame(),
    yaxis: { title: { text: "seconds" }, gridcolor: colour("chart-grid"), range: [0, top * 1.18], ticksuffix: " s" },
    xaxis: { categoryorder: "array", categoryarray: names },
  };
  plot(chart, traces, layout);
}

// Each run's timeline from GET /api/runs/<id>/timeline (bounded, whatever the run's size)
// until it is final; all drawn to one time scale and one label width.
async function refreshTimelines(runs) {
  let changed = false;
  for (const run of runs) {
    const el = root.querySelector(`[data-timeline-for="${CSS.escape(run.id)}"]`);
    if (run.state === "queued" || !el) continue;
    if (!timelines.has(run.id)) timelines.set(run.id, new RunTimeline(el, run.id, { compact: true }));
    const timeline = timelines.get(run.id);
    if (!timeline.data?.final) changed = (await timeline.load(run)) || changed;
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
  const comparison = pageData(await refreshLive(), "compare-data");
  renderChart(comparison.rows);
  await refreshTimelines(comparison.runs);
  root.dataset.state = comparison.state;
  const allDrawn = comparison.runs.every((r) => timelines.get(r.id)?.data?.final);
  return !(comparison.final && allDrawn);
}, pollMs);
