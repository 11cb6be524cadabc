// The run page, live: polls the run's summary (GET /api/runs/<id>?tasks=false), its timeline
// and the page of the task table in view, until the run is done. None of them grows with the
// run: the table is a page the server sorts and filters, the timeline a bounded view.
import {
  DASH, STATE_LABELS, count, esc, fixed, getJSON, millis, peakText, percent, poll, rate, seconds,
  setText, times, urlCell,
} from "./fanout.js";
import { hostLoadNote, pauseNote, rerunNote, workersNote } from "./runnotes.js";
import { RunTimeline } from "./runtimeline.js";

const root = document.querySelector("[data-run-id]");
const runId = root.dataset.runId;
const pollMs = Number(root.dataset.pollMs) || 700;
const timeline = new RunTimeline(document.getElementById("timeline"), runId);
const card = root.querySelector("[data-table]");
const tbody = card.querySelector("[data-rows]");
const query = {
  sort: card.dataset.tableSort || "index",
  order: card.dataset.tableOrder === "desc" ? "desc" : "asc",
  state: card.dataset.stateFilter || "",
  offset: Number(card.dataset.offset) || 0,
  limit: Number(card.dataset.limit) || 100,
};
let renderMs = 0;
let tableHtml = "";

function rowHtml(r) {
  const attempt = r.attempt > 1 ? ` <span class="muted">attempt ${r.attempt}</span>` : "";
  return `<tr>
    <td class="num">${r.index}</td>
    <td class="url-cell">${urlCell(r.url)}</td>
    <td><span class="badge state-${esc(r.state)}">${esc(STATE_LABELS[r.state] || r.state)}</span>${attempt}</td>
    <td class="num">${r.status ?? DASH}</td>
    <td class="num">${r.bytes == null ? DASH : count(r.bytes)}</td>
    <td class="num">${r.start == null ? DASH : fixed(r.start, 3)}</td>
    <td class="num">${millis(r.duration)}</td>
    <td class="num">${millis(r.cpu)}</td>
    <td class="lane" title="${esc(r.lane)}">${esc(r.lane_label)}</td>
    <td class="error-cell">${esc(r.error || "")}</td>
  </tr>`;
}

function tableParams() {
  const params = new URLSearchParams({ sort: query.sort, order: query.order });
  if (query.state) params.set("state", query.state);
  return params;
}

function renderTable(page) {
  const html = page.rows.map(rowHtml).join("");
  if (html !== tableHtml) tbody.innerHTML = html;
  tableHtml = html;
  for (const th of card.querySelectorAll("table.tasks th")) {
    const link = th.querySelector("[data-sort]");
    if (!link) continue;
    const active = link.dataset.sort === query.sort;
    if (active) th.setAttribute("aria-sort", query.order === "desc" ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
    const params = tableParams();
    params.set("sort", link.dataset.sort);
    params.set("order", active && query.order === "asc" ? "desc" : "asc");
    link.href = `?${params}`;
  }
  for (const link of card.querySelectorAll("[data-filter]")) {
    if (link.dataset.filter === query.state) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  const pageNo = Math.floor(page.offset / page.limit) + 1;
  const pages = Math.max(1, Math.ceil(page.matched / page.limit));
  const last = Math.min(page.offset + page.limit, page.matched);
  setText(card, "[data-page-note]", page.matched
    ? `rows ${count(page.offset + 1)}–${count(last)} of ${count(page.matched)}`
    : "no task in this state");
  for (const link of card.querySelectorAll("[data-page]")) {
    const target = link.dataset.page === "prev" ? pageNo - 1 : pageNo + 1;
    link.hidden = target < 1 || target > pages;
    const params = tableParams();
    params.set("page", String(target));
    link.href = `?${params}`;
  }
  card.dataset.matched = String(page.matched);
  card.dataset.offset = String(page.offset);
}

async function loadTable() {
  const params = tableParams();
  params.set("offset", String(query.offset));
  params.set("limit", String(query.limit));
  const page = await getJSON(`/api/runs/${encodeURIComponent(runId)}/tasks?${params}`);
  renderTable(page);
  return page;
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

function setNote(selector, text) {
  const note = root.querySelector(selector);
  if (note.textContent !== text) note.textContent = text;
  note.hidden = !text;
}

// Every note, on each poll: each appears as soon as its data does (a busy host, a re-run).
// `notes` comes with each timeline answer (web/runview.py's run_notes).
function renderConditions(run, notes) {
  setNote("[data-workers-note]", workersNote(run.summary.workers));
  setNote("[data-host-load]", hostLoadNote(run));
  if (!notes) return;
  setNote("[data-rerun-note]", rerunNote(notes));
  setNote("[data-pause-note]", pauseNote(notes));
}

function renderSummary(run) {
  const s = run.summary;
  setText(root, '[data-field="wall_s"]', seconds(s.wall_s));
  setText(root, '[data-field="ideal_s"]', seconds(s.ideal_s));
  setText(root, '[data-field="slots"]', String(s.slots));
  setText(root, '[data-field="efficiency"]', percent(s.efficiency));
  setText(root, '[data-field="speedup"]', times(s.speedup));
  setText(root, '[data-field="peak_concurrency"]', peakText(run));
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
      : run.state === "running" ? `running · ${count(run.counts.running || 0)} in flight`
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
  renderProgress(run);
  renderSummary(run);
  renderProvisional(run);
  renderConditions(run, timeline.data?.notes);
}

// Sorting, filtering and paging ask the server for the page, and keep it in the address bar.
function navigate(change) {
  Object.assign(query, change);
  const url = new URL(window.location.href);
  url.search = "";
  for (const [key, value] of tableParams()) url.searchParams.set(key, value);
  const pageNo = Math.floor(query.offset / query.limit) + 1;
  if (pageNo > 1) url.searchParams.set("page", String(pageNo));
  window.history.replaceState(null, "", url);
  card.dataset.loading = "true";
  loadTable()
    .catch((error) => console.warn("table failed", error))
    .finally(() => delete card.dataset.loading);
}

card.addEventListener("click", (event) => {
  const sortLink = event.target.closest("[data-sort]");
  const stateLink = event.target.closest("[data-filter]");
  const pageLink = event.target.closest("[data-page]");
  if (sortLink) {
    event.preventDefault();
    const key = sortLink.dataset.sort;
    const order = query.sort === key && query.order === "asc" ? "desc" : "asc";
    navigate({ sort: key, order, offset: 0 });
  } else if (stateLink) {
    event.preventDefault();
    navigate({ state: stateLink.dataset.filter, offset: 0 });
  } else if (pageLink) {
    event.preventDefault();
    const step = pageLink.dataset.page === "prev" ? -query.limit : query.limit;
    navigate({ offset: Math.max(0, query.offset + step) });
  }
});

// Each poll reads the summary (no tasks), then the timeline and the table page in view, until the
// run is final (`provisional` false: done, and its host load in, so the busy-host note shows
// on an open page without a reload); a run
// that takes long to draw polls less often (never more than about half of the time drawing).
// The three reads go out together: the timeline does not wait for the summary.
poll(async () => {
  const [run, fresh] = await Promise.all([
    getJSON(`/api/runs/${encodeURIComponent(runId)}?tasks=false`), timeline.load(), loadTable(),
  ]);
  let started = performance.now();
  render(run);
  timeline.run = run;
  renderMs = performance.now() - started;
  if (fresh) {
    await timeline.ready(); // loaded or failed: the figures above never wait for it
    started = performance.now();
    timeline.draw();
    renderMs += performance.now() - started;
  }
  return Boolean(run.provisional ?? run.state !== "done") || !timeline.data?.final;
}, () => Math.max(pollMs, 2 * renderMs));
