// What the run page says about a run's conditions, as web/runnotes.py writes it: the workers
// that served it (numbers by the formats of web/presentation.py, as there), and the sentences
// the API words: a warning when other processes loaded the worker hosts, the tasks that ran
// again after their worker stopped, and the time none of its tasks was running.
import { number } from "./fanout.js";

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

// The tasks that ran again, and the time no task ran: the timeline answer's `notes` word them
// (web/runnotes.py `worded`).
export function rerunNote(notes) {
  return notes?.rerun_note || "";
}

export function pauseNote(notes) {
  return notes?.pause_note || "";
}
