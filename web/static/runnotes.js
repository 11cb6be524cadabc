// What the run page says about a run's conditions, as web/runnotes.py writes it: the workers
// that served it, a warning when other processes loaded the worker hosts, the tasks that ran
// again after their worker stopped, and the time none of its tasks was running. Numbers by the
// formats of web/presentation.py, as there.
import { compareText, counted, number, seconds } from "./fanout.js";

function workersText(n) {
  return n === 1 ? "1 worker" : `${n} workers`;
}

// [offset as shown, workers live from then]: changes that read at the same offset are one,
// the last of them; a step that leaves the count as it was is none.
function steps(changes) {
  const result = [];
  for (const [offset, live] of changes) {
    const at = number("offset_s", offset);
    if (result.length && result[result.length - 1][0] === at) result.pop();
    if (!result.length || result[result.length - 1][1] !== live) result.push([at, live]);
  }
  return result;
}

export function workersNote(workers) {
  if (!workers) return "";
  const text = `served by ${workersText(workers.served)}`;
  const shown = steps(workers.changes || []);
  if (shown.length < 2) return `${text} · ${shown.length ? shown[0][1] : workers.live} live throughout`;
  const named = [workersText(shown[0][1])];
  for (const [at, live] of shown.slice(1)) named.push(`${live} from +${at}`);
  return `${text} · live: ${named.join(", ")}`;
}

// The warning for a run whose worker hosts other processes kept busy: the API words it
// (`host_load.note`, producer/hostnote.py), for this page and the CLI alike.
export function hostLoadNote(run) {
  return (run.host_load && run.host_load.note) || "";
}

export function rerunNote(notes) {
  const n = notes?.reruns || 0;
  if (!n) return "";
  const them = n === 1 ? "it" : "they";
  return `${counted(n, "task")} ran again: their worker stopped before ${them} ended (a restart `
    + "or a crash), so each was run once more; the table gives each its attempt.";
}

export function pauseNote(notes) {
  const paused = notes?.paused_s || 0;
  if (paused <= 0) return "";
  return `For ${seconds(paused)} no task of this run was running (no worker was running it: a `
    + "restart, or workers busy with other work). Its wall time includes that time, and so do "
    + "its efficiency and throughput.";
}
