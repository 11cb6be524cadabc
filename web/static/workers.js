// The workers page, live: GET /api/workers and GET /api/stats every second or so.
import {
  PLOTLY_FONT, ago, count, esc, getJSON, plot, poll, setText, shortWorker,
} from "./fanout.js";

const root = document.querySelector(".workers-root");
const pollMs = Number(root.dataset.pollMs) || 1000;
const windowS = Number(root.dataset.window) || 300;
const chart = document.getElementById("throughput");
const rows = root.querySelector("[data-worker-rows]");

// RQ keeps a killed worker's last state (often busy) until its registration expires: without
// fanout's heartbeat it is gone, whatever RQ says (as workers.html renders it).
function workerRow(w, now) {
  const job = w.alive ? w.current_job : null;
  const state = w.alive ? w.state : "gone";
  const title = w.alive ? "" : `no heartbeat; RQ last said ${w.state}`;
  let current = '<span class="muted">–</span>';
  if (job) {
    const label = esc(job.description || job.id);
    current = job.run_id ? `<a href="/runs/${encodeURIComponent(job.run_id)}">${label}</a>` : label;
  }
  return `<tr>
    <td title="${esc(w.name)}"><code>${esc(shortWorker(w.name))}</code></td>
    <td>${esc(w.host || "–")}</td>
    <td class="num">${w.pid ?? "–"}</td>
    <td><span class="badge worker-${esc(state)}" title="${esc(title)}">${esc(state)}</span></td>
    <td>${current}</td>
    <td class="num">${count(w.jobs_done)}</td>
    <td class="num">${count(w.jobs_failed)}</td>
    <td>${ago(w.heartbeat_at, now)}</td>
    <td class="muted">${ago(w.rq_heartbeat_at, now)}</td>
  </tr>`;
}

function renderWorkers(overview) {
  const q = overview.queue;
  setText(root, '[data-w="live"]', count(overview.live));
  for (const name of ["queued", "started", "deferred", "finished", "failed"]) {
    setText(root, `[data-w="${name}"]`, count(q[name]));
  }
  rows.innerHTML = overview.workers.length
    ? overview.workers.map((w) => workerRow(w, overview.now)).join("")
    : '<tr><td colspan="9" class="empty">No RQ worker is registered on this queue. Start one with <code>fanout worker</code>.</td></tr>';
  const gone = root.querySelector("[data-gone]");
  gone.hidden = overview.gone.length === 0;
  root.querySelector("[data-gone-list]").innerHTML = overview.gone
    .map((w) => `<li><code>${esc(shortWorker(w.name))}</code> ${esc(w.how)} ${ago(w.left_at, overview.now)}</li>`)
    .join("");
}

// The Scale box follows the live target (the CLI or another browser may move it) and takes
// its bounds from the server's, except while the user is editing it (focus inside the form).
const scaleForm = root.querySelector("[data-scale-form]");
const scaleN = root.querySelector("[data-scale-n]");
const scaleMode = root.querySelector("[data-scale-mode]");

function scaleBounds(overview) {
  const mode = scaleMode.value;
  const least = overview ? overview.min[mode] : Number(scaleN.dataset[mode === "total" ? "minTotal" : "minPerHost"]);
  scaleN.min = String(least);
  if (overview) {
    const hosts = Math.max(overview.hosts.length, 1);
    scaleN.max = String(mode === "total" ? overview.max_per_host * hosts : overview.max_per_host);
  }
}

scaleMode.addEventListener("change", () => scaleBounds(null));

function followTarget(overview) {
  if (scaleForm.contains(document.activeElement)) return;
  const t = overview.target;
  scaleMode.value = t ? t.mode : "total";
  scaleN.value = String(t ? t.n : overview.live);
  scaleBounds(overview);
}

function renderTarget(overview) {
  followTarget(overview);
  const t = overview.target;
  const text = t ? `Target: ${t.n} ${t.mode === "per_host" ? "per host" : "in total"}`
    : "Target: none set (each host runs its --pool)";
  setText(root, '[data-w="target"]', overview.sweep ? `${text} · held by sweep ${overview.sweep}` : text);
  root.querySelector("[data-host-rows]").innerHTML = overview.hosts.length
    ? overview.hosts.map((h) => `<tr><td>${esc(h.host)}</td><td class="num">${h.share ?? "–"}</td>
        <td class="num">${count(h.live)}</td><td class="num">${count(h.stopping)}</td></tr>`).join("")
    : '<tr><td colspan="4" class="empty">No host is live. Start one with <code>fanout worker</code>.</td></tr>';
}

function renderStats(series) {
  setText(root, '[data-w="total_tasks"]', count(series.total_tasks));
  setText(root, '[data-w="peak"]', count(series.peak_tasks_per_s));
  const x = series.seconds.map((s) => new Date(s * 1000));
  const traces = [
    {
      type: "bar", name: "tasks ended / s", x, y: series.tasks, marker: { color: "#4f46e5" },
      hovertemplate: "%{x|%H:%M:%S}: %{y} tasks<extra></extra>",
    },
    {
      type: "scatter", mode: "lines", name: "live workers", x, y: series.workers, yaxis: "y2",
      line: { color: "#f59e0b", width: 2, shape: "hv" },
      hovertemplate: "%{x|%H:%M:%S}: %{y} workers<extra></extra>",
    },
  ];
  const peakWorkers = Math.max(1, ...series.workers);
  const layout = {
    height: 300, bargap: 0.05,
    margin: { l: 56, r: 56, t: 30, b: 40 },
    font: PLOTLY_FONT, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#ffffff",
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    xaxis: { type: "date", gridcolor: "#e2e8f0" },
    yaxis: { title: { text: "tasks / s" }, gridcolor: "#e2e8f0", rangemode: "tozero" },
    yaxis2: {
      title: { text: "workers" }, overlaying: "y", side: "right", rangemode: "tozero",
      range: [0, peakWorkers + 1], dtick: peakWorkers > 10 ? undefined : 1, showgrid: false,
    },
    uirevision: "throughput",
  };
  plot(chart, traces, layout);
  chart.dataset.points = String(series.seconds.length);
}

// The sweep form posts to the sweep API (JSON) and opens the new sweep's page.
const sweepForm = root.querySelector("[data-sweep-form]");
const sweepError = root.querySelector("[data-sweep-error]");

async function startSweep(event) {
  event.preventDefault();
  const field = (name) => sweepForm.querySelector(`[data-sweep-${name}]`);
  const body = {
    preset: field("preset").value,
    strategy: field("strategy").value,
    concurrency: Number(field("concurrency").value),
    workers: field("workers").value.split(",").filter((part) => part.trim()).map(Number),
  };
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const token = field("token");
  if (token) headers.Authorization = `Bearer ${token.value}`;
  const response = await fetch("/api/sweeps", {
    method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin",
  });
  const answer = await response.json().catch(() => ({}));
  if (response.ok) {
    window.location.assign(answer.url);
    return;
  }
  sweepError.hidden = false;
  sweepError.textContent = answer.error || `The server answered ${response.status}.`;
}

sweepForm.addEventListener("submit", (event) => {
  startSweep(event).catch((error) => {
    sweepError.hidden = false;
    sweepError.textContent = `The sweep could not be started: ${error.message}`;
  });
});

poll(async () => {
  const [overview, series, target] = await Promise.all([
    getJSON("/api/workers"),
    getJSON(`/api/stats?window=${windowS}`),
    getJSON("/api/workers/target"),
  ]);
  renderWorkers(overview);
  renderTarget(target);
  renderStats(series);
  return true;
}, pollMs);
