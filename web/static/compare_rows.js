// The compare page's rows, as web/compareview.py builds them: one per strategy, each saying
// whether its figures are final. A speed-up over sequential is a verdict: given only once both
// runs behind it are final. From the reader's `rows` (median and range over repeated runs).
import {
  DASH, RUN_STATE_LABELS, esc, percent, seconds, times,
} from "./fanout.js";

export const FORMATS = {
  wall_s: seconds, ideal_s: seconds, efficiency: percent, speedup: times, vs_sequential: times,
};
const NAMES = Object.keys(FORMATS);
const MEASURED = NAMES.filter((name) => name !== "vs_sequential");

// A range with its unit once: "1.200–1.310 s", "80–85 %", "1.90–2.10×".
export function span(fmt, low, high) {
  let first = fmt(low);
  const last = fmt(high);
  const unit = last.match(/[^\d]*$/)[0];
  if (unit && first.endsWith(unit)) first = first.slice(0, -unit.length);
  return `${first}–${last}`;
}

// The median as text, and the range when the runs differ at the shown precision.
export function figure(name, stats) {
  const fmt = FORMATS[name];
  if (stats == null) return { text: DASH, range: null };
  const spread = fmt(stats.min) !== fmt(stats.max);
  return { text: fmt(stats.median), range: spread ? span(fmt, stats.min, stats.max) : null };
}

function point(value) {
  return value == null ? null : { median: value, min: value, max: value };
}

function runsState(runs) {
  const states = new Set(runs.map((r) => r.state));
  if (states.size === 1 && states.has("done")) return "done";
  return states.has("running") || states.has("done") ? "running" : "queued";
}

function progress(runs, doneRuns) {
  const going = runs.find((r) => r.state === "running");
  if (runs.length === 1) return `${runs[0].done}/${runs[0].total}`;
  const text = `${doneRuns}/${runs.length} runs`;
  return going ? `${text} · ${going.done}/${going.total}` : text;
}

function makeRow(strategy, runs, final, stats, [peak, ok, tasks], doneRuns) {
  return {
    strategy,
    runId: runs.length ? runs[0].id : null,
    state: final ? "done" : runs.length ? runsState(runs) : "queued",
    final,
    progress: runs.length ? progress(runs, doneRuns) : DASH,
    stats,
    figures: Object.fromEntries(NAMES.map((name) => [name, figure(name, stats[name])])),
    peakConcurrency: peak == null ? DASH : String(peak),
    ok: `${ok}/${tasks}`,
    busy: runs.some((r) => Boolean(r.host_load?.busy)),
  };
}

// A strategy with no run done yet shows its going run's figures, so far (a queued one its
// first run's: "0/40" tasks ok, as its progress says).
function fromRows(comparison) {
  const byId = new Map(comparison.runs.map((r) => [r.id, r]));
  return comparison.rows.map((row) => {
    const runs = row.run_ids.map((id) => byId.get(id)).filter(Boolean);
    let stats = Object.fromEntries(NAMES.map((name) => [name, row[name] ?? null]));
    let totals = [row.peak_concurrency, row.ok, row.tasks];
    const current = runs.find((r) => r.state === "running") ?? runs[0];
    if (!row.done && current) {
      const s = current.summary;
      stats = Object.fromEntries(MEASURED.map((name) => [name, point(s[name])]));
      stats.vs_sequential = null;
      totals = [s.peak_concurrency, current.counts.ok, current.total];
    }
    return makeRow(row.strategy, runs, Boolean(row.final), stats, totals, row.done);
  });
}

export function compareRows(comparison) {
  const rows = fromRows(comparison);
  const sequential = rows.find((r) => r.strategy === "sequential");
  const judged = Boolean(sequential && sequential.final);
  for (const row of rows) {
    const verdict = judged && row.final ? row.stats.vs_sequential : null;
    row.verdict = verdict ? figure("vs_sequential", verdict) : null;
  }
  return rows;
}

const BUSY_TITLE = "Other processes kept the worker hosts busy: the figures may be distorted; "
  + "repeat the comparison.";

function figureHtml(f, final) {
  const soFar = !final && f.text !== DASH ? ' <span class="so-far">so far</span>' : "";
  const range = f.range ? ` <small class="range">${esc(f.range)}</small>` : "";
  return `<span class="fig">${esc(f.text)}</span>${soFar}${range}`;
}

// The markup of web/templates/_macros.html's compare_row.
export function compareRowHtml(row) {
  const name = esc(row.strategy);
  const link = row.runId ? `<a href="/runs/${encodeURIComponent(row.runId)}">${name}</a>` : name;
  const busy = row.busy ? ` <span class="badge badge-warn" title="${esc(BUSY_TITLE)}">busy host</span>` : "";
  const cell = (field) => `<td class="num" data-f="${field}">${figureHtml(row.figures[field], row.final)}</td>`;
  const verdict = row.verdict
    ? `<td class="num strong" data-f="vs_sequential">${figureHtml(row.verdict, true)}</td>`
    : '<td class="num" data-f="vs_sequential" title="Given once this strategy and sequential have ended">–</td>';
  return `<tr data-row="${name}" data-provisional="${row.final ? "false" : "true"}"${row.final ? "" : ' class="provisional"'}>
    <th scope="row">${link}${busy}</th>
    <td><span class="badge run-${esc(row.state)}" data-run-state>${esc(RUN_STATE_LABELS[row.state] ?? row.state)}</span> <span class="muted" data-f="progress">${esc(row.progress)}</span></td>
    ${cell("wall_s")}${cell("ideal_s")}${cell("efficiency")}${verdict}${cell("speedup")}
    <td class="num" data-f="peak_concurrency">${esc(row.peakConcurrency)}</td>
    <td class="num" data-f="ok">${esc(row.ok)}</td>
  </tr>`;
}
