// Shared by the pages' scripts: fetching, polling, the server's rendering of a page, charts.
//
// The words and numbers on a page are the server's (Jinja with web/formats.py, the CLI's
// rounding): a live page takes the server's rendering of its [data-live] parts (refreshLive), so
// it reads as a reload would. Labels and colours come from web/presentation.py: the labels as
// JSON on every page (base.html), the colours as the stylesheet's custom properties.

const presentation = document.getElementById("fanout-presentation");
if (!presentation) throw new Error("fanout.js: the page has no #fanout-presentation (base.html)");
const PRESENTATION = JSON.parse(presentation.textContent);

// A colour of the page's stylesheet (presentation.css, from web/presentation.py): `name` is the
// custom property without its dashes, "state-ok" or "chart-grid". Read when a chart is drawn.
export function colour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

// A task state's chart colour (--state-ok).
export function stateColour(state) {
  return colour(`state-${state}`);
}

// Task state -> label, in the server's order (the timeline's legend).
export const STATE_LABELS = Object.fromEntries(PRESENTATION.states.map((s) => [s.name, s.label]));
export const LANE_SEPARATOR = PRESENTATION.lane_separator;

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
  if (!response.ok) {
    const body = await response.json().catch(() => null); // null: not JSON
    throw new HttpError(response.status, body?.error || response.statusText);
  }
  return response.json();
}

// The server's rendering of `url` (this page by default), parsed; an error page throws, as
// getJSON does.
export async function fetchPage(url = window.location.href) {
  const response = await fetch(url, { headers: { Accept: "text/html" }, cache: "no-store" });
  if (!response.ok) throw new HttpError(response.status, response.statusText);
  return new DOMParser().parseFromString(await response.text(), "text/html");
}

// Asks the server for `url` (this page by default: its [data-live-url] when a form's POST
// rendered it at another address) and puts its rendering of each [data-live] part in place of
// this page's, where it changed; answers the server's page, for the figures its charts read
// (data attributes, JSON).
export async function refreshLive(url = document.querySelector("[data-live-url]")?.dataset.liveUrl ?? window.location.href) {
  const page = await fetchPage(url);
  for (const fresh of page.querySelectorAll("[data-live]")) {
    const shown = document.querySelector(`[data-live="${CSS.escape(fresh.dataset.live)}"]`);
    if (shown && shown.outerHTML !== fresh.outerHTML) shown.replaceWith(document.importNode(fresh, true));
  }
  return page;
}

// The JSON a page carries in <script type="application/json" id=...> (its charts' figures).
export function pageData(page, id) {
  return JSON.parse(page.getElementById(id).textContent);
}

// The banner's title for an unreachable Redis: the page's own words (base.html), read before
// any other title replaces them.
const REDIS_DOWN_TITLE = document.querySelector("#banner [data-banner-title]")?.textContent;

export function showBanner(title, text) {
  const banner = document.getElementById("banner");
  if (!banner) return;
  banner.querySelector("[data-banner-title]").textContent = title;
  banner.querySelector("[data-banner-text]").textContent = text;
  banner.hidden = false;
}

export function hideBanner() {
  const banner = document.getElementById("banner");
  if (banner) banner.hidden = true;
}

// Calls `step` every `interval()` ms until it returns false. Failures show the banner and back
// off (up to 5 s); the first success after one hides it again.
export function poll(step, interval) {
  let failures = 0;
  async function loop() {
    let again = true;
    try {
      again = await step();
      if (failures) hideBanner();
      failures = 0;
    } catch (error) {
      failures += 1;
      if (error instanceof HttpError && error.status === 404) {
        showBanner("Not found.", "This run has expired or was deleted.");
        return;
      }
      if (error instanceof HttpError && error.status === 503) {
        showBanner(REDIS_DOWN_TITLE, "Runs cannot be read right now; retrying.");
      } else {
        showBanner("The server did not answer.", `${error.message}; retrying.`);
      }
      console.warn("poll failed", error);
    }
    if (again !== false) {
      const intervalMs = typeof interval === "function" ? interval() : interval;
      const wait = failures ? Math.min(5000, intervalMs * 2 ** failures) : intervalMs;
      setTimeout(loop, wait);
    }
  }
  loop();
}

// No tips: plotly's "Double-click to zoom back out" notifier sits at the page's top right,
// over the run page's export buttons.
export const PLOTLY_CONFIG = {
  displaylogo: false,
  responsive: true,
  showTips: false,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"],
};

// plotly.js comes as its own script (web/assets.py). A page whose bundle did not load (the
// server answers 503 until `make assets` has run) still updates everything else; each chart
// says why it is missing instead of drawing.
export const PLOTLY_MISSING = "No chart: plotly.js did not load from this server (its file is "
  + "missing: `make assets` installs it). The rest of this page stays live.";

let plotlyLoading = null;

// Resolves true once plotly.js has run, false if it failed; never rejects. A page's `defer`
// script (#plotly-script) has run or failed before the page's modules run; without one, the
// script is added from `src` (the run page adds it after its first reads are out: evaluating
// plotly.js holds the main thread for most of a second).
export function plotlyReady(src) {
  if (window.Plotly) return Promise.resolve(true);
  if (plotlyLoading) return plotlyLoading;
  let script = document.getElementById("plotly-script");
  if (!script && src) {
    script = Object.assign(document.createElement("script"), { id: "plotly-script", src });
    script.dataset.added = "";
    document.head.append(script);
  }
  if (!script || !("added" in script.dataset)) {
    plotlyLoading = Promise.resolve(Boolean(window.Plotly));
  } else {
    plotlyLoading = new Promise((resolve) => {
      script.addEventListener("load", () => resolve(Boolean(window.Plotly)), { once: true });
      script.addEventListener("error", () => resolve(false), { once: true });
    });
  }
  return plotlyLoading;
}

// Writes in `el`, in its note marked `attr` (data-chart-unavailable, data-chart-empty), why it
// holds no chart.
export function placeholder(el, attr, text) {
  let note = el.querySelector(`:scope > [${attr}]`);
  if (!note) {
    note = Object.assign(document.createElement("p"), { className: "chart-placeholder" });
    note.setAttribute(attr, "");
    el.append(note);
  }
  note.textContent = text;
}

// Plotly.react when plotly.js is there, else the note why not; true when drawn.
export function plot(el, traces, layout) {
  if (!window.Plotly) {
    placeholder(el, "data-chart-unavailable", PLOTLY_MISSING);
    el.dataset.chart = "unavailable";
    return false;
  }
  el.querySelector(":scope > [data-chart-unavailable]")?.remove();
  delete el.dataset.chart;
  window.Plotly.react(el, traces, layout, PLOTLY_CONFIG);
  return true;
}

// What every chart's layout shares: its font, its paper and plot backgrounds, its legend.
export function chartFrame() {
  return {
    font: {
      family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      size: 12,
      color: colour("chart-text"),
    },
    paper_bgcolor: colour("chart-paper"),
    plot_bgcolor: colour("chart-plot"),
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
  };
}
