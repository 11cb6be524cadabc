// The Lessons page, live: while a step's comparison runs, poll GET /api/compare/<id>?tasks=false,
// and each time its runs move on take that step's answer from the page again. The words are all
// written on the server (web/lessons.py), so the live page says what a reload would.
import { fetchPage, getJSON, poll } from "./fanout.js";

const root = document.querySelector(".lessons[data-poll-ms]");
const pollMs = Math.max(700, Number(root?.dataset.pollMs) || 700);

function watch(step) {
  const comparisonId = step.dataset.comparisonId;
  let seen = "";
  poll(async () => {
    const comparison = await getJSON(`/api/compare/${comparisonId}?tasks=false`);
    const mark = JSON.stringify([
      comparison.provisional, comparison.runs.map((run) => [run.state, run.done]),
    ]);
    if (mark === seen) return true;
    seen = mark;
    const fresh = (await fetchPage()).getElementById(step.id);
    if (!fresh || fresh.dataset.comparisonId !== comparisonId) return false;
    step.querySelector("[data-answer]").replaceChildren(
      ...fresh.querySelector("[data-answer]").childNodes,
    );
    step.dataset.final = fresh.dataset.final;
    return fresh.dataset.final !== "true";
  }, pollMs);
}

for (const step of document.querySelectorAll('[data-lesson][data-final="false"]')) watch(step);
