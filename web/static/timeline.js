// The Gantt timeline: one lane per executor (host / worker / pid / thread), one bar per task.
import {
  PLOTLY_CONFIG, PLOTLY_FONT, STATE_COLOURS, STATE_LABELS, count, esc, lane, millis, shortLane,
  timeOrigin,
} from "./fanout.js";

const TRACE_ORDER = ["ok", "http_error", "error", "timeout", "refused", "lost", "running"];
const MAX_HOVER_URL = 90;

function byNaturalOrder(a, b) {
  return a.localeCompare(b, "en", { numeric: true });
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function hover(item, state, start, duration) {
  const lines = [
    `<b>#${item.index}</b> · ${esc(STATE_LABELS[state] || state)}`,
    esc(clip(item.url, MAX_HOVER_URL)),
    `start +${start.toFixed(3)} s · ${state === "running" ? "running for " : ""}${millis(duration)}`,
  ];
  if (state !== "running") {
    const status = item.status_code != null ? `HTTP ${item.status_code} · ` : "";
    lines.push(`${status}${count(item.bytes)} bytes${item.cpu_s != null ? ` · CPU ${millis(item.cpu_s)}` : ""}`);
  }
  if (item.error) lines.push(`<i>${esc(clip(item.error, MAX_HOVER_URL))}</i>`);
  lines.push(esc(shortLane(item)));
  return lines.join("<br>");
}

// Bars of a run: ended tasks with times, and running tasks growing up to the server's `now`.
export function timelineData(run, now) {
  const t0 = timeOrigin(run);
  const traces = new Map(TRACE_ORDER.map((state) => [state, { y: [], base: [], x: [], text: [] }]));
  const lanes = new Map();
  let bars = 0;
  let end = 0;
  function add(item, state, startedAt, finishedAt) {
    const key = lane(item);
    lanes.set(key, shortLane(item));
    const trace = traces.get(state) || traces.get("error");
    const start = startedAt - t0;
    const duration = Math.max(0, finishedAt - startedAt);
    trace.y.push(key);
    trace.base.push(start);
    trace.x.push(duration);
    trace.text.push(hover(item, state, start, duration));
    end = Math.max(end, start + duration);
    bars += 1;
  }
  if (t0 !== null) {
    for (const t of run.tasks || []) {
      if (t.started_at != null && t.finished_at != null) add(t, t.state, t.started_at, t.finished_at);
    }
    for (const s of run.running || []) add(s, "running", s.started_at, Math.max(now, s.started_at));
  }
  const ordered = [...lanes.keys()].sort(byNaturalOrder);
  return { traces, lanes: ordered, labels: ordered.map((k) => lanes.get(k)), bars, end };
}

// Pixels the lane labels need, so stacked timelines can share one left edge.
export function labelWidth(run, now, fontPx = 10) {
  const { labels } = timelineData(run, now);
  return 12 + Math.max(0, ...labels.map((label) => label.length)) * fontPx * 0.6;
}

// Said instead of drawing an empty axis, which would read as a run of zero seconds.
function showEmpty(el, run) {
  let note = el.querySelector(":scope > [data-chart-empty]");
  if (!note) {
    note = document.createElement("p");
    note.className = "chart-placeholder";
    note.dataset.chartEmpty = "";
    el.append(note);
  }
  note.textContent = run.state === "queued"
    ? "No task has started yet: the run is waiting for a worker."
    : "No task has started yet.";
}

export function drawTimeline(el, run, options = {}) {
  const compact = Boolean(options.compact);
  const now = options.now ?? run.now ?? Date.now() / 1000;
  const data = timelineData(run, now);
  el.dataset.bars = String(data.bars);
  el.dataset.running = String(data.traces.get("running").x.length);
  el.dataset.lanes = String(data.lanes.length);
  if (data.bars === 0 && !el.querySelector(".main-svg")) {
    showEmpty(el, run);
    return data;
  }
  el.querySelector(":scope > [data-chart-empty]")?.remove();
  const traces = [];
  for (const [state, t] of data.traces) {
    if (!t.x.length) continue;
    traces.push({
      type: "bar",
      orientation: "h",
      name: STATE_LABELS[state],
      y: t.y,
      base: t.base,
      x: t.x,
      hovertext: t.text,
      hoverinfo: "text",
      width: 0.72,
      opacity: state === "running" ? 0.75 : 1,
      marker: {
        color: STATE_COLOURS[state],
        line: { color: "rgba(255,255,255,0.9)", width: data.bars > 400 ? 0 : 1 },
      },
    });
  }
  const rowHeight = compact ? 16 : 24;
  const shapes = [];
  const annotations = [];
  const ideal = run.summary && run.summary.ideal_s;
  if (!compact && ideal && run.state === "done") {
    shapes.push({
      type: "line", xref: "x", yref: "paper", x0: ideal, x1: ideal, y0: 0, y1: 1,
      line: { color: "#0f172a", width: 1.5, dash: "dash" },
    });
    annotations.push({
      xref: "x", yref: "paper", x: ideal, y: 1, yanchor: "bottom", showarrow: false,
      text: "ideal", font: { size: 11, color: "#0f172a" },
    });
  }
  const layout = {
    barmode: "overlay",
    height: Math.max(compact ? 110 : 200, (compact ? 46 : 92) + data.lanes.length * rowHeight),
    margin: { l: options.marginLeft ?? 8, r: 16, t: compact ? 6 : 34, b: 38 },
    font: PLOTLY_FONT,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
    showlegend: !compact && traces.length > 0,
    legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", traceorder: "normal" },
    hoverlabel: { align: "left", bgcolor: "#0f172a", font: { color: "#f8fafc", size: 12 } },
    xaxis: {
      title: { text: compact ? "" : "seconds since the first start", standoff: 6 },
      zeroline: false,
      gridcolor: "#e2e8f0",
      rangemode: "tozero",
      ticksuffix: " s",
      range: options.xMax ? [0, options.xMax] : undefined,
      autorange: options.xMax ? false : true,
    },
    yaxis: {
      type: "category",
      categoryorder: "array",
      categoryarray: data.lanes,
      tickvals: data.lanes,
      ticktext: data.labels,
      autorange: "reversed",
      automargin: options.marginLeft === undefined,
      showgrid: false,
      tickfont: { size: compact ? 10 : 11 },
    },
    shapes,
    annotations,
    uirevision: "timeline",
  };
  window.Plotly.react(el, traces, layout, PLOTLY_CONFIG);
  return data;
}
