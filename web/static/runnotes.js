// What the run page says about a run's conditions, as web/runnotes.py writes it: the workers
// that served it, and a warning when other processes loaded the worker hosts. Numbers by the
// formats of web/presentation.py, as there.
import { compareText, number } from "./fanout.js";

function workersText(n) {
  return n === 1 ? "1 worker" : `${n} workers`;
}

export function workersNote(workers) {
  if (!workers) return "";
  const text = `served by ${workersText(workers.served)}`;
  const changes = workers.changes || [];
  if (changes.length < 2) return `${text} · ${workers.live} live throughout`;
  const steps = [workersText(changes[0][1])];
  for (const [offset, live] of changes.slice(1)) steps.push(`${live} from +${number("offset_s", offset)}`);
  return `${text} · live: ${steps.join(", ")}`;
}

export function hostLoadNote(run) {
  const load = run.host_load || {};
  if (!load.busy) return "";
  const hosts = Object.entries(load.others_cores)
    .sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  const named = hosts.map(([host, cores]) => `${host} ${number("cores", cores)} cores`).join(", ");
  const again = run.comparison ? "the comparison" : "the run";
  return `Other processes kept the worker hosts busy during this run (${named}; more than `
    + `${number("cores", load.threshold_cores)} is too many): the figures may be distorted; repeat ${again}.`;
}
