// What the run page says about a run's conditions, as web/runnotes.py writes it: the workers
// that served it, and a warning when other processes loaded the worker hosts. Numbers by the
// formats of web/presentation.py, as there.
import { number } from "./fanout.js";

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

// The warning for a run whose worker hosts other processes kept busy: the API words it
// (`host_load.note`, producer/hostnote.py), for this page and the CLI alike.
export function hostLoadNote(run) {
  return (run.host_load && run.host_load.note) || "";
}
