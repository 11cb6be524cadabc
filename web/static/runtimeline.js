// The run page's timeline, from GET /api/runs/<id>/timeline: single bars while a view holds a
// few thousand tasks, else each lane's busy share over time (a heatmap: one image, however many
// tasks). Dragging zooms the time axis; the server answers the zoomed window with bars again
// once it is small enough. A live small run asks only for the bars that ended since the last poll.
import {
  LANE_SEPARATOR, STATE_LABELS, chartFrame, colour, esc, getJSON, placeholder, plot, plotlyReady,
  stateColour,
} from "./fanout.js";

const TRACE_ORDER = ["ok", "http_error", "error", "timeout", "refused", "lost", "running"];
const MAX_HOVER_URL = 90;

function clip(text, n) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

// A bar's hover: its words are chosen here, its numbers plotly's to write (hovertemplate,
// d3-format, as on the axes); its values, text included (never read as a template), in customdata.
function barHover(bar) {
  const lines = [
    `<b>#%{customdata[0]}</b> · ${esc(STATE_LABELS[bar.state] || bar.state)}`,
    "%{customdata[4]}",
    `start +%{base:.3f} s · ${bar.state === "running" ? "running for " : ""}%{customdata[1]:,.0f} ms`,
  ];
  if (bar.state !== "running") {
    const status = bar.status != null ? "HTTP %{customdata[7]} · " : "";
    const bytes = bar.bytes != null ? "%{customdata[2]:,.0f}" : "–";
    lines.push(`${status}${bytes} bytes${bar.cpu != null ? " · CPU %{customdata[3]:,.0f} ms" : ""}`);
  }
  if (bar.error) lines.push("<i>%{customdata[5]}</i>");
  lines.push("%{customdata[6]}");
  return `${lines.join("<br>")}<extra></extra>`;
}

function barData(bar, label) {
  return [
    bar.index, bar.duration * 1000, bar.bytes, bar.cpu == null ? null : bar.cpu * 1000,
    esc(clip(bar.url, MAX_HOVER_URL)), esc(clip(bar.error, MAX_HOVER_URL)), esc(label), bar.status,
  ];
}

// Columnar bars of an answer as objects keyed by lane name (lane ids differ between answers):
// its ended bars, or with `now` its running ones (no end, status, bytes, CPU or error yet).
function bars(data, now) {
  const c = now === undefined ? data.bars : data.running;
  return c.index.map((index, i) => ({
    index, lane: data.lanes[c.lane[i]], start: c.start[i], url: c.url[i],
    ...(now === undefined
      ? { duration: c.duration[i], state: c.state[i], status: c.status[i], bytes: c.bytes[i], cpu: c.cpu[i], error: c.error[i] }
      : { duration: Math.max(0, now - c.start[i]), state: "running", status: null, bytes: null, cpu: null, error: null }),
  }));
}

// A hybrid run's jobs take whichever threads of their worker's pool are free, so over a run a
// worker's tasks pass through many more threads than it runs at once. Its lanes are then the
// slots that ran tasks: each task on the first lane of its worker process free when it starts,
// so a process has as many lanes as it ran tasks at once. The hover still names the thread.
function slotLanes(bars, data, labels) {
  const sep = LANE_SEPARATOR;
  const processOf = (lane) => lane.split(sep).slice(0, 3).join(sep);
  const ends = new Map(); // process -> when each of its slots is free again
  const y = new Map(); // task index -> its slot lane
  const sorted = [...bars].sort((p, q) => p.start - q.start || p.index - q.index);
  for (const bar of sorted) {
    const process = processOf(bar.lane);
    if (!ends.has(process)) ends.set(process, []);
    const slots = ends.get(process);
    let k = slots.findIndex((free) => free <= bar.start);
    if (k < 0) k = slots.push(0) - 1;
    slots[k] = bar.start + bar.duration;
    y.set(bar.index, `${process}${sep}slot ${k + 1}`);
  }
  const names = [];
  const shown = [];
  const order = new Set([...data.lanes.map(processOf), ...ends.keys()]);
  for (const process of [...order].filter((p) => ends.has(p))) {
    const first = data.lanes.find((lane) => processOf(lane) === process);
    const short = first ? processOf(labels.get(first)) : process;
    ends.get(process).forEach((_, k) => {
      names.push(`${process}${sep}slot ${k + 1}`);
      shown.push(`${short}${sep}slot ${k + 1}`);
    });
  }
  return { y, names, labels: shown };
}

export class RunTimeline {
  // options.compact: a small chart without legend or zoom (the compare page's stack), drawn to
  // options.xMax seconds with options.marginLeft pixels of lane labels, so stacked charts align.
  constructor(el, runId, options = {}) {
    this.el = el;
    this.runId = runId;
    this.options = { compact: false, ...options };
    this.window = null; // [from, to] seconds, or null: the whole run
    this.bars = new Map(); // index -> ended bar, merged from `since` answers
    this.since = 0;
    this.binned = false;
    this.data = null;
    this.run = null;
    this.listening = false;
    this.plotly = null; // plotlyReady(): asked once the first read is out
  }

  // Resolves once plotly.js has loaded or failed (then draw() says why there is no chart).
  ready() {
    this.plotly ??= plotlyReady(this.el.dataset.plotlySrc);
    return this.plotly;
  }

  async update(run) {
    if (await this.load(run)) {
      await this.ready();
      this.draw();
    }
  }

  // Reads the timeline the view needs; false when a zoom overtook the answer.
  async load(run) {
    if (run) this.run = run;
    const asked = this.window;
    const query = asked ? `from=${asked[0]}&to=${asked[1]}` : this.binned ? "" : `since=${this.since}`;
    const answer = getJSON(`/api/runs/${encodeURIComponent(this.runId)}/timeline?${query}`);
    this.ready();
    const data = await answer;
    if (asked !== this.window) return false; // zoomed meanwhile: that answer will draw
    if (data.since !== undefined) {
      for (const bar of bars(data)) this.bars.set(bar.index, bar);
      this.since = data.ended;
    } else if (!this.window) {
      this.binned = data.mode === "bins";
      this.bars.clear();
      this.since = 0;
    }
    this.data = data;
    return true;
  }

  // Pixels the lane labels need, so stacked timelines can share one left edge.
  labelWidth(fontPx = 10) {
    const labels = this.data?.lane_labels || [];
    return 12 + Math.max(0, ...labels.map((label) => label.length)) * fontPx * 0.6;
  }

  draw() {
    const { el, data, run } = this;
    el.dataset.mode = data.mode;
    if (data.mode === "empty") {
      placeholder(el, "data-chart-empty", run?.state === "queued"
        ? "No task has started yet: the run is waiting for a worker."
        : "No task has started yet.");
      el.dataset.bars = "0";
      return;
    }
    el.querySelector(":scope > [data-chart-empty]")?.remove();
    const labels = new Map(data.lanes.map((lane, i) => [lane, data.lane_labels[i]]));
    let lanes = { y: null, names: data.lanes, labels: data.lane_labels };
    let traces;
    if (data.mode === "bins") {
      traces = this.binTraces(data);
    } else {
      const all = data.since !== undefined ? [...this.bars.values()] : bars(data);
      all.push(...bars(data, data.now));
      if (run?.strategy === "hybrid") lanes = slotLanes(all, data, labels);
      traces = this.barTraces(all, labels, lanes.y);
    }
    el.dataset.lanes = String(lanes.names.length);
    const whole = !this.window;
    el.dataset.final = String(Boolean(data.final && whole));
    if (!plot(el, traces, this.layout(data, whole, lanes))) return;
    if (!this.listening && !this.options.compact) {
      this.listening = true;
      el.on("plotly_relayout", (event) => this.zoom(event));
    }
    if (!el.dataset.drawnAt) el.dataset.drawnAt = String(performance.now());
  }

  // One trace per state; `slots` (task index -> lane) places a hybrid run's bars on slots.
  barTraces(all, labels, slots) {
    const byState = new Map(TRACE_ORDER.map((state) => [state, { y: [], base: [], x: [], text: [], data: [] }]));
    for (const bar of all) {
      const t = byState.get(bar.state) || byState.get("error");
      t.y.push(slots ? slots.get(bar.index) : bar.lane);
      t.base.push(bar.start);
      t.x.push(bar.duration);
      t.text.push(barHover(bar));
      t.data.push(barData(bar, labels.get(bar.lane) || bar.lane));
    }
    this.el.dataset.bars = String(all.length);
    this.el.dataset.running = String(byState.get("running").x.length);
    const traces = [];
    for (const [state, t] of byState) {
      if (!t.x.length) continue;
      traces.push({
        type: "bar", orientation: "h", name: STATE_LABELS[state], y: t.y, base: t.base, x: t.x,
        hovertemplate: t.text, customdata: t.data, width: 0.72,
        opacity: state === "running" ? 0.75 : 1,
        marker: {
          color: stateColour(state),
          line: { color: colour("chart-bar-edge"), width: all.length > 400 ? 0 : 1 },
        },
      });
    }
    return traces;
  }

  binTraces(data) {
    const { bins } = data;
    const x = Array.from({ length: bins.count }, (_, i) => data.from + (i + 0.5) * bins.width);
    const cells = data.lanes.map((_, lane) => x.map((_, i) => [
      esc(data.lane_labels[lane]), data.from + i * bins.width, data.from + (i + 1) * bins.width,
      bins.busy[lane][i] * 100, bins.ended[lane][i], bins.failed[lane][i],
    ]));
    this.el.dataset.bars = "0";
    this.el.dataset.running = "0";
    return [{
      type: "heatmap", x, y: data.lanes, z: bins.busy, zmin: 0, zmax: 1, customdata: cells, xgap: 0, ygap: 2,
      // an idle lane's colour, a barely busy one's, a lane busy all the time
      colorscale: [[0, colour("chart-busy-none")], [0.02, colour("chart-busy-low")], [1, colour("chart-busy-full")]],
      hovertemplate: "%{customdata[0]}<br>+%{customdata[1]:.2f}–%{customdata[2]:.2f} s<br>busy "
        + "%{customdata[3]:.0f} % · %{customdata[4]:,.0f} ended (%{customdata[5]:,.0f} not ok)<extra></extra>",
      colorbar: { title: { text: "busy", side: "right" }, thickness: 10, len: 0.9, tickformat: ".0%" },
    }];
  }

  layout(data, whole, drawn) {
    const lanes = drawn.names.length;
    const { compact, xMax, marginLeft } = this.options;
    const shapes = [];
    const annotations = [];
    const ideal = this.run?.ideal_s;
    if (!compact && whole && ideal && this.run.state === "done") {
      shapes.push({
        type: "line", xref: "x", yref: "paper", x0: ideal, x1: ideal, y0: 0, y1: 1,
        line: { color: colour("chart-ideal-line"), width: 1.5, dash: "dash" },
      });
      annotations.push({
        xref: "x", yref: "paper", x: ideal, y: 1, yanchor: "bottom", showarrow: false,
        text: "ideal", font: { size: 11, color: colour("chart-ideal-line") },
      });
    }
    return {
      barmode: "overlay",
      height: compact
        ? Math.max(110, 46 + Math.min(lanes, 60) * (lanes > 30 ? 10 : 16))
        : Math.max(200, 92 + Math.min(lanes, 60) * (lanes > 30 ? 12 : 24)),
      margin: { l: marginLeft ?? 8, r: 16, t: compact ? 6 : 34, b: 38 },
      ...chartFrame(),
      showlegend: !compact && data.mode === "bars",
      legend: { orientation: "h", x: 0, y: 1.0, yanchor: "bottom", traceorder: "normal" },
      hoverlabel: {
        align: "left", bgcolor: colour("chart-hover"), font: { color: colour("chart-hover-text"), size: 12 },
      },
      xaxis: {
        title: { text: compact ? "" : "seconds since the first start", standoff: 6 },
        zeroline: false,
        gridcolor: colour("chart-grid"),
        ticksuffix: " s",
        range: whole ? [0, xMax ?? Math.max(data.end, 1e-3)] : [data.from, data.to],
        autorange: false,
        fixedrange: compact,
      },
      yaxis: {
        type: "category", categoryorder: "array", categoryarray: drawn.names, tickvals: drawn.names,
        ticktext: drawn.labels, autorange: "reversed", automargin: marginLeft === undefined,
        showgrid: false, fixedrange: true, tickfont: { size: compact || lanes > 30 ? 9 : 11 },
      },
      shapes,
      annotations,
    };
  }

  zoom(event) {
    // plotly names a zoom's range either way: "xaxis.range[0]" and "[1]", or "xaxis.range".
    const [from, to] = event["xaxis.range"] ?? [event["xaxis.range[0]"], event["xaxis.range[1]"]];
    let next;
    if (from !== undefined) next = [Math.max(0, from), to];
    else if (event["xaxis.autorange"]) next = null;
    else return;
    if (next && !(next[1] > next[0])) return;
    if (JSON.stringify(next) === JSON.stringify(this.window)) return;
    this.window = next;
    this.update(this.run).catch((error) => console.warn("timeline zoom failed", error));
  }
}
