// What a run cost the operating system (the record's `cost`), on the run page's cost cards
// (_cost.html) and the compare page's cost table (_cost_compare.html). The server renders both;
// while a run or comparison goes on, this polls its record (?tasks=false) and redraws them the
// way the templates write them, until it is final.

import { DASH, count, esc, fixed, getJSON, poll, seconds } from "./fanout.js";

const POLL_MS = 2000;

function mib(v) {
  return v === null || v === undefined ? DASH : `${fixed(v / 1048576, 1, true)} MiB`;
}

// As Python's statistics.median: the mean of the middle two for an even count.
function median(costs, name) {
  const v = costs.map((c) => c[name]).sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

function setField(root, name, text) {
  for (const el of root.querySelectorAll(`[data-cost-field="${name}"]`)) el.textContent = text;
}

function fillRun(root, cost) {
  const c = cost.total;
  setField(root, "memory_added", `+${mib(c.memory_added_bytes)}`);
  setField(root, "memory_peak", mib(c.memory_peak_bytes));
  setField(root, "memory_idle", mib(c.memory_idle_bytes));
  setField(root, "processes", count(c.processes));
  setField(root, "processes_started", count(c.processes_started));
  setField(root, "threads", count(c.threads));
  setField(root, "threads_started", count(c.threads_started));
  setField(root, "ctx_switches", `${count(c.ctx_switches_voluntary)} / ${count(c.ctx_switches_involuntary)}`);
  setField(root, "cpu", `${seconds(c.cpu_user_s)} / ${seconds(c.cpu_system_s)}`);
  const hosts = Object.entries(cost.hosts);
  const line = root.querySelector("[data-cost-hosts]");
  if (line) {
    line.textContent = hosts.length > 1
      ? `Per host: ${hosts.map(([host, h]) => `${host} +${mib(h.memory_added_bytes)}, ${count(h.processes)} processes, ${count(h.threads)} threads`).join("; ")}`
      : "";
    line.hidden = hosts.length < 2;
  }
  root.hidden = false;
}

function costCells(costs) {
  if (!costs.length) return `<td class="num">${DASH}</td>`.repeat(5);
  const m = (name) => median(costs, name);
  return [
    `+${mib(m("memory_added_bytes"))}`,
    `${count(m("processes"))} (${count(m("processes_started"))})`,
    `${count(m("threads"))} (${count(m("threads_started"))})`,
    `${count(m("ctx_switches_voluntary"))} / ${count(m("ctx_switches_involuntary"))}`,
    `${seconds(m("cpu_user_s"))} / ${seconds(m("cpu_system_s"))}`,
  ].map((text) => `<td class="num">${esc(text)}</td>`).join("");
}

function fillComparison(root, comparison) {
  const rows = comparison.rows.map((row) => {
    const ids = new Set(row.run_ids);
    const costs = comparison.runs.filter((run) => ids.has(run.id) && run.cost).map((run) => run.cost.total);
    const strategy = esc(row.strategy);
    return `<tr data-cost-strategy="${strategy}"><th scope="row">${strategy}</th>${costCells(costs)}</tr>`;
  });
  root.querySelector("[data-cost-rows]").innerHTML = rows.join("");
}

// A record is final once done and no longer provisional: its cost is whole by then (a job
// writes its cost a moment after its last records may have ended the run).
function final(record) {
  return record.state === "done" && !record.provisional;
}

function watchRun(root) {
  if (root.dataset.final === "true") return; // rendered with the run's whole cost
  const url = `/api/runs/${encodeURIComponent(root.dataset.runId)}?tasks=false`;
  poll(async () => {
    const run = await getJSON(url);
    if (run.cost) fillRun(root, run.cost);
    return !final(run);
  }, POLL_MS);
}

function watchComparison(root) {
  if (root.dataset.final === "true") return;
  const url = `/api/compare/${encodeURIComponent(root.dataset.comparisonId)}?tasks=false`;
  poll(async () => {
    const comparison = await getJSON(url);
    fillComparison(root, comparison);
    return !final(comparison);
  }, POLL_MS);
}

for (const root of document.querySelectorAll("[data-cost]")) watchRun(root);
for (const root of document.querySelectorAll("[data-cost-compare]")) watchComparison(root);
