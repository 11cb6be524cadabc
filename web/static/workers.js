// The workers page, live: every second or so reads the page again and puts the server's
// rendering of the queue, the target, the workers and their process trees in place
// (refreshLive); draws the throughput chart from the series the page carries.
import { chartFrame, colour, pageData, plot, poll, refreshLive } from "./fanout.js";

const root = document.querySelector(".workers-root");
const pollMs = Number(root.dataset.pollMs) || 1000;
const chart = document.getElementById("throughput");

// The Scale box follows the live target (the CLI or another browser may move it) and takes
// its bounds from the server's, except while the user is editing it (focus inside the form).
const scaleForm = root.querySelector("[data-scale-form]");
const scaleN = root.querySelector("[data-scale-n]");
const scaleMode = root.querySelector("[data-scale-mode]");

scaleMode.addEventListener("change", () => {
  scaleN.min = scaleN.dataset[scaleMode.value === "total" ? "minTotal" : "minPerHost"];
});

// The box takes the fresh page's value and bounds, unless the user is in the form.
function followTarget(page) {
  if (scaleForm.contains(document.activeElement)) return;
  const fresh = page.querySelector("[data-scale-n]");
  scaleMode.value = page.querySelector("[data-scale-mode]").value;
  Object.assign(scaleN, { value: fresh.value, min: fresh.min, max: fresh.max });
}

function renderStats(series) {
  const x = series.seconds.map((s) => new Date(s * 1000));
  const traces = [
    {
      type: "bar", name: "tasks ended / s", x, y: series.tasks, marker: { color: colour("chart-primary") },
      hovertemplate: "%{x|%H:%M:%S}: %{y} tasks<extra></extra>",
    },
    {
      type: "scatter", mode: "lines", name: "live workers", x, y: series.workers, yaxis: "y2",
      line: { color: colour("chart-secondary"), width: 2, shape: "hv" },
      hovertemplate: "%{x|%H:%M:%S}: %{y} workers<extra></extra>",
    },
  ];
  const peakWorkers = Math.max(1, ...series.workers);
  const layout = {
    height: 300, bargap: 0.05,
    margin: { l: 56, r: 56, t: 30, b: 40 },
    ...chartFrame(),
    xaxis: { type: "date", gridcolor: colour("chart-grid") },
    yaxis: { title: { text: "tasks / s" }, gridcolor: colour("chart-grid"), rangemode: "tozero" },
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
  const page = await refreshLive();
  followTarget(page);
  renderStats(pageData(page, "throughput-data"));
  return true;
}, pollMs);
