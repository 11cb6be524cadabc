// Shared by the pages' scripts: formatting (the same as web/formats.py), fetching, polling.
//
// Labels, colours and number formats are defined once, in web/presentation.py; every page carries
// them as JSON (base.html). The formatters below follow them as web/formats.py does on the
// server, so a page updated live reads as a reload would (tests/web/test_format_agreement.py).

function presentation() {
  const data = document.getElementById("fanout-presentation");
  if (!data) throw new Error("fanout.js: the page has no #fanout-presentation (base.html)");
  return JSON.parse(data.textContent);
}

const { badges: BADGES, formats: FORMATS } = presentation();
export const DASH = FORMATS.dash;

// Task state -> chart colour, and -> label; run state -> label. In the server's order.
export const STATE_COLOURS = Object.fromEntries(BADGES.state.map((s) => [s.name, s.chart]));
export const STATE_LABELS = Object.fromEntries(BADGES.state.map((s) => [s.name, s.label]));
export const RUN_STATE_LABELS = Object.fromEntries(BADGES.run.map((s) => [s.name, s.label]));

// `v` to `decimals` places, a tie rounded away from zero on the number's exact value (toFixed's
// rule; web/formats.py rounds the same way), no sign on a zero, thousands grouped with "," when
// `grouped`. Beyond 1e21, where toFixed writes an exponent, every digit still (BigInt): as Python.
// Not toLocaleString: it rounds the shortest decimal (12.35 -> 12.4, where the float is
// 12.3499...) and is slow over thousands of bars.
export function fixed(v, decimals, grouped = false) {
  if (!Number.isFinite(v)) return String(v);
  let text = Math.abs(v) < 1e21 ? v.toFixed(decimals)
    : `${BigInt(v)}${decimals ? `.${"0".repeat(decimals)}` : ""}`;
  if (/^-[0.]+$/.test(text)) text = text.slice(1);
  if (!grouped) return text;
  const [whole, fraction] = text.split(".");
  const withCommas = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? withCommas : `${withCommas}.${fraction}`;
}

// `v` by the number format `name` (presentation.NUMBERS); the dash for null or undefined.
export function number(name, v) {
  if (v === null || v === undefined) return DASH;
  const f = FORMATS.numbers[name];
  return `${fixed(v * f.scale, f.decimals, f.grouped)}${f.unit}`;
}

export function count(v) {
  return number("count", v);
}

// A count and its noun, plural unless one: "1 URL", "20,000 URLs".
export function counted(v, noun) {
  return `${count(v)} ${v === 1 ? noun : `${noun}s`}`;
}

// The run's peak concurrency; until it is known (once the run has ended), at least the tasks
// in flight now: "≥ 8".
export function peakText(run) {
  const peak = run.summary.peak_concurrency;
  if (peak !== null && peak !== undefined) return count(peak);
  const running = run.counts.running || 0;
  return running ? `\u2265 ${count(running)}` : DASH;
}

export function millis(v) {
  return number("millis", v);
}

export function percent(v) {
  return number("percent", v);
}

export function times(v) {
  return number("times", v);
}

export function rate(v) {
  return number("rate", v);
}

function step(steps, v) {
  return steps.find((s) => s.below === null || v < s.below);
}

// 0.253 s, 12.4 s, 3 min 05 s.
export function seconds(v) {
  if (v === null || v === undefined) return DASH;
  const s = Number.isFinite(v) ? step(FORMATS.seconds.steps, v) : FORMATS.seconds.steps[0];
  if (s) return `${fixed(v, s.decimals)}${s.unit}`;
  const total = Number(fixed(v, 0));
  return FORMATS.seconds.minutes
    .replace("{min}", String(Math.floor(total / 60)))
    .replace("{sec}", String(total % 60).padStart(2, "0"));
}

export function ago(epoch, now) {
  if (epoch === null || epoch === undefined) return FORMATS.ago.never;
  const delta = Math.max(0, now - epoch);
  const s = step(FORMATS.ago.steps, delta);
  return `${fixed(delta / s.per, s.decimals)}${s.unit}`;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

// Only http(s) URLs become links: a javascript: URL must stay text.
export function isHttpUrl(url) {
  return typeof url === "string" && /^https?:\/\/[^\s]/i.test(url);
}

export function urlCell(url) {
  return isHttpUrl(url)
    ? `<a href="${esc(url)}" rel="noopener noreferrer nofollow" class="url">${esc(url)}</a>`
    : `<span class="url">${esc(url)}</span>`;
}

const LANE = FORMATS.lane;
export const LANE_SEPARATOR = LANE.separator;
const WORKER_ID = new RegExp(`^(?:${LANE.worker_id_pattern})$`);

export function shortWorker(name) {
  if (!name) return DASH;
  return name.length === LANE.worker_id_length && WORKER_ID.test(name)
    ? name.slice(0, LANE.worker_id_keep) : name;
}

export function lane(t) {
  return t.host ? [t.host, t.worker, t.pid, t.thread].join(LANE.separator) : DASH;
}

export function shortLane(t) {
  return t.host ? [t.host, shortWorker(t.worker), t.pid, t.thread].join(LANE.separator) : DASH;
}

// Text by code unit, not localeCompare: the server sorts by code point (Python's str order),
// and a collation would order "B" and "a", or "?" and "0", the other way round.
export function compareText(x, y) {
  return x < y ? -1 : x > y ? 1 : 0;
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
    let message = response.statusText;
    try {
      message = (await response.json()).error || message;
    } catch {
      /* not JSON */
    }
    throw new HttpError(response.status, message);
  }
  return response.json();
}

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
        showBanner("Redis is unreachable.", "Runs cannot be read right now; retrying.");
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

export function setText(root, selector, text) {
  for (const el of root.querySelectorAll(selector)) el.textContent = text;
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

// Writes in `el` why it holds no chart (data-chart-unavailable).
export function showChartUnavailable(el) {
  let note = el.querySelector(":scope > [data-chart-unavailable]");
  if (!note) {
    note = document.createElement("p");
    note.className = "chart-placeholder";
    note.dataset.chartUnavailable = "";
    el.append(note);
  }
  note.textContent = PLOTLY_MISSING;
  el.dataset.chart = "unavailable";
}

// Plotly.react when plotly.js is there, else the note why not; true when drawn.
export function plot(el, traces, layout, config = PLOTLY_CONFIG) {
  if (!window.Plotly) {
    showChartUnavailable(el);
    return false;
  }
  el.querySelector(":scope > [data-chart-unavailable]")?.remove();
  delete el.dataset.chart;
  window.Plotly.react(el, traces, layout, config);
  return true;
}

export const PLOTLY_FONT = {
  family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  size: 12,
  color: "#334155",
};
