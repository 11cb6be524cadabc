// The run page, live: polls GET /api/runs/<id> until the run is done and redraws in place.
import {
  STATE_LABELS, count, esc, getJSON, millis, percent, poll, rate, seconds, setText, sortRows,
  taskRows, times, urlCell,
} from "./fanout.js";
import { hostLoadNote, workersNote } from "./runnotes.js";
import { drawTimeline } from "./timeline.js";

const root = document.querySelector("[data-run-id]");
const runId = root.dataset.runId;
const pollMs = Number(root.dataset.pollMs) || 700;
const timeline = document.getElementById("timeline");
const tbody = root.querySelector("[data-rows]");
const sort = { key: root.dataset.sort || "index", desc: root.dataset.order === "desc" };
let latest = null;
const ended = new Map(); // index -> task record, merged from incremental polls
let tableSignature = "";
let renderMs = 0;

function rowHtml(r) {
  const attempt = r.attempt > 1 ? ` <span class="muted">attempt ${r.attempt}</span>` : "";
  return `<tr>
    <td class="num">${r.index}</td>
    <td class="url-cell">${urlCell(r.url)}</td>
    <td><span class="badge state-${esc(r.state)}">${esc(STATE_LABELS[r.state] || r.state)}</span>${attempt}</td>
    <td class="num">${r.status ?? "–"}</td>
    <td class="num">${r.bytes == null ? "–" : count(r.bytes)}</td>
    <td class="num">${r.start == null ? "–" : r.start.toFixed(3)}</td>
    <td class="num">${millis(r.duration)}</td>
    <td class="num">${millis(r.cpu)}</td>
    <td class="lane" title="${esc(r.lane)}">${esc(r.laneLabel)}</td>
    <td class="error-cell">${esc(r.error || "")}</td>
  </tr>`;
}

function renderTable(run, force = false) {
  const signature = `${run.done}:${(run.running || []).map((s) => s.index).join(",")}:${sort.key}:${sort.desc}`;
  if (!force && signature === tableSignature) return;
  tableSignature = signature;
  const rows = sortRows(taskRows(run), sort.key, sort.desc);
  tbody.innerHTML = rows.map(rowHtml).join("");
  for (const th of root.querySelectorAll("table.tasks th")) {
    const link = th.querySelector("[data-sort]");
    if (!link) continue;
    if (link.dataset.sort === sort.key) th.setAttribute("aria-sort", sort.desc ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
}

// Until the run is done its figures cover the tasks ended so far: greyed, "so far", and no
// verdict styling (the efficiency card's accent and meter), as _summary.html renders them.
function renderProvisional(run) {
  const provisional = Boolean(run.provisional ?? run.state !== "done");
  const cards = root.querySelector("[data-summary]");
  cards.dataset.provisional = String(provisional);
  cards.classList.toggle("cards-provisional", provisional);
  for (const mark of cards.querySelectorAll("[data-so-far]")) mark.hidden = !provisional;
  root.querySelector("[data-verdict-card]").classList.toggle("stat-accent", !provisional);
  root.querySelector("[data-meter-bar]").hidden = provisional;
  const basis = run.summary.ideal_basis === "capacity" ? "capacity" : "slots";
  for (const note of cards.querySelectorAll("[data-ideal-basis]")) note.hidden = note.dataset.idealBasis !== basis;
}

function renderConditions(run) {
  const workers = root.querySelector("[data-workers-note]");
  workers.textContent = workersNote(run.summary.workers);
  workers.hidden = !workers.textContent;
  const load = root.querySelector("[data-host-load]");
  load.textContent = hostLoadNote(run);
  load.hidden = !load.textContent;
}

function renderSummary(run) {
  const s = run.summary;
  setText(root, '[data-field="wall_s"]', seconds(s.wall_s));
  setText(root, '[data-field="ideal_s"]', seconds(s.ideal_s));
  setText(root, '[data-field="slots"]', String(s.slots));
  setText(root, '[data-field="efficiency"]', percent(s.efficiency));
  setText(root, '[data-field="speedup"]', times(s.speedup));
  setText(root, '[data-field="peak_concurrency"]', s.peak_concurrency == null ? "\u2014" : String(s.peak_concurrency));
  setText(root, '[data-field="throughput_per_s"]', rate(s.throughput_per_s));
  setText(root, '[data-field="workers_at_start"]', String(run.workers_at_start));
  root.querySelector("[data-partial]").hidden = run.state === "done";
  const meter = root.querySelector('[data-meter="efficiency"]');
  if (meter) meter.style.width = `${Math.min(100, (s.efficiency || 0) * 100).toFixed(1)}%`;
}

function renderProgress(run) {
  root.dataset.state = run.state;
  const badge = root.querySelector("[data-run-state]");
  badge.textContent = run.state;
  badge.className = `badge run-${run.state}`;
  setText(root, '[data-field="done"]', count(run.done));
  const note =
    run.state === "queued" ? "waiting for a worker"
      : run.state === "running" ? `running · ${(run.running || []).length} in flight`
        : `finished in ${seconds(run.summary.latency_s)} from submission`;
  setText(root, '[data-field="progress_note"]', note);
  const fill = root.querySelector("[data-progress-fill]");
  fill.style.width = `${run.total ? (100 * run.done) / run.total : 0}%`;
  root.querySelector("[data-progress]").setAttribute("aria-valuenow", String(run.done));
  for (const chip of root.querySelectorAll("[data-count]")) {
    const n = run.counts[chip.dataset.count] || 0;
    chip.querySelector("[data-count-value]").textContent = count(n);
    chip.classList.toggle("chip-zero", n === 0);
  }
}

function render(run) {
  latest = run;
  renderProgress(run);
  renderSummary(run);
  renderProvisional(run);
  renderConditions(run);
  drawTimeline(timeline, run);
  renderTable(run);
  if (run.state === "done") timeline.dataset.final = "true";
}

root.querySelector("table.tasks thead").addEventListener("click", (event) => {
  const link = event.target.closest("[data-sort]");
  if (!link || !latest) return;
  event.preventDefault();
  const key = link.dataset.sort;
  sort.desc = sort.key === key ? !sort.desc : false;
  sort.key = key;
  const url = new URL(window.location.href);
  url.searchParams.set("sort", sort.key);
  url.searchParams.set("order", sort.desc ? "desc" : "asc");
  window.history.replaceState(null, "", url);
  renderTable(latest, true);
});

// A run of thousands of tasks takes a while to draw: never spend more than about half of the
// time drawing, so the page stays responsive (small runs poll every pollMs).
// Each poll asks only for the tasks that ended since the last one (`since`), and merges them.
// The first read is a page by index (it carries the URLs, for the pending rows); the URLs are not
// sent again, and a `since` smaller than the true position only re-sends tasks, never skips one.
let urls = null;
poll(async () => {
  const query = urls === null ? "" : `?since=${ended.size}`;
  const run = await getJSON(`/api/runs/${encodeURIComponent(runId)}${query}`);
  if (urls === null) urls = run.spec.urls || [];
  run.spec.urls = urls;
  for (const task of run.tasks) ended.set(task.index, task);
  run.tasks = [...ended.values()].sort((a, b) => a.index - b.index);
  const started = performance.now();
  render(run);
  renderMs = performance.now() - started;
  return run.state !== "done";
}, () => Math.max(pollMs, 2 * renderMs));
