// The run page, live: until the run is final, reads the page again and puts the server's
// rendering of its figures, notes, cost and task table in place (refreshLive), and the
// timeline (GET /api/runs/<id>/timeline). Neither grows with the run: the table is a page the
// server sorts and filters, the timeline a bounded view.
import { pageData, poll, refreshLive } from "./fanout.js";
import { RunTimeline } from "./runtimeline.js";

const root = document.querySelector("[data-run-id]");
const pollMs = Number(root.dataset.pollMs) || 700;
const timeline = new RunTimeline(document.getElementById("timeline"), root.dataset.runId);
let renderMs = 0;

function show(page) {
  const run = pageData(page, "run-data");
  root.dataset.state = run.state;
  timeline.run = run;
  return run;
}

// Sorting, filtering and paging are links to the page; the table follows them in place and
// keeps them in the address bar.
root.addEventListener("click", (event) => {
  const link = event.target.closest("[data-table] [data-sort], [data-table] [data-filter], [data-table] [data-page]");
  if (!link) return;
  event.preventDefault();
  window.history.replaceState(null, "", link.href);
  const card = root.querySelector("[data-table]");
  card.dataset.loading = "true";
  refreshLive()
    .then(show)
    .catch((error) => console.warn("table failed", error))
    .finally(() => delete card.dataset.loading);
});

// Each poll reads the page and the timeline together, until the run is final (done, and its
// host load in, so the busy-host note shows on an open page without a reload) and so is its
// timeline; a run that takes long to draw polls less often (about half of the time drawing).
poll(async () => {
  let started = performance.now();
  const [page, fresh] = await Promise.all([refreshLive(), timeline.load()]);
  const run = show(page);
  renderMs = performance.now() - started;
  if (fresh) {
    await timeline.ready(); // loaded or failed: the figures above never wait for it
    started = performance.now();
    timeline.draw();
    renderMs += performance.now() - started;
  }
  return !run.final || !timeline.data?.final;
}, () => Math.max(pollMs, 2 * renderMs));
