// The Workers page's process tree: GET /api/workers/tree every second, drawn per host as
// `ps -f --forest` draws it (each process indented under its parent, with `\_`).
import { count, esc, fixed, getJSON, poll, shortWorker } from "./fanout.js";

const section = document.querySelector("[data-proctree]");
const hosts = section.querySelector("[data-proctree-hosts]");
const kept = section.querySelector("[data-proctree-kept]");

const LABELS = {
  worker: (p) => `worker ${shortWorker(p.worker)}`,
  scheduler: () => "RQ scheduler",
  horse: () => "work-horse (one job)",
  child: () => "pool child",
};

function mib(bytes) {
  return `${fixed(bytes / 2 ** 20, 1, true)} MiB`;
}

function processRow(p) {
  const label = (LABELS[p.role] || (() => p.cmd || p.name))(p);
  const branch = p.depth > 0 ? "\\_ " : "";
  const badge = p.state === "busy" || p.state === "idle" ? `worker-${p.state}` : "";
  return `<tr data-pid="${p.pid}" data-ppid="${p.ppid}" data-role="${esc(p.role)}"
      data-state="${esc(p.state)}" data-depth="${p.depth}">
    <td class="num">${p.pid}</td>
    <td class="num muted">${p.ppid}</td>
    <td><code style="padding-left: ${Math.max(0, p.depth - 1) * 1.5 + (p.depth ? 0.5 : 0)}rem"
      title="${esc(p.cmd)}">${esc(branch + label)}</code></td>
    <td>${p.state ? `<span class="badge ${badge}">${esc(p.state)}</span>` : ""}</td>
    <td class="num">${fixed(p.cpu, 1)}</td>
    <td class="num">${count(p.threads)}</td>
    <td class="num">${mib(p.rss)}</td>
  </tr>`;
}

function hostTable(tree, now) {
  const workers = tree.processes.filter((p) => p.role === "worker").length;
  const children = tree.processes.filter((p) => p.role === "child" || p.role === "horse").length;
  const where = tree.hostname && tree.hostname !== tree.host ? ` on ${tree.hostname}` : "";
  const age = Math.max(0, now - tree.at);
  return `<div class="table-wrap" data-proctree-host="${esc(tree.host)}">
    <table class="proctree">
      <caption><strong>${esc(tree.host)}</strong>${esc(where)} · ${count(workers)}
        worker${workers === 1 ? "" : "s"}, ${count(children)} child${children === 1 ? "" : "ren"}
        · ${fixed(age, 1)} s ago · publisher ${fixed(tree.cost_ms, 1)} ms CPU/s</caption>
      <thead><tr><th scope="col" class="num">PID</th><th scope="col" class="num">PPID</th>
        <th scope="col">Process</th><th scope="col">State</th><th scope="col" class="num">CPU %</th>
        <th scope="col" class="num">Threads</th><th scope="col" class="num">RSS</th></tr></thead>
      <tbody>${tree.processes.map(processRow).join("")}</tbody>
    </table>
  </div>`;
}

function render(trees) {
  hosts.innerHTML = trees.hosts.length
    ? trees.hosts.map((tree) => hostTable(tree, trees.now)).join("")
    : '<p class="empty">No live host publishes its tree. Start one with <code>fanout worker</code>.</p>';
  kept.hidden = !trees.hosts.some((t) => t.processes.some((p) => p.role === "child" && p.state === "idle"));
  section.dataset.updated = String(trees.now);
}

poll(async () => {
  render(await getJSON("/api/workers/tree"));
  return true;
}, 1000);
