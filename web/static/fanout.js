// Shared by the pages' scripts: formatting (the same as web/views.py), fetching, polling, rows.

export const STATE_COLOURS = {
  ok: "#16a34a",
  http_error: "#f59e0b",
  error: "#dc2626",
  timeout: "#9333ea",
  refused: "#a16207",
  lost: "#334155",
  running: "#3b82f6",
  pending: "#cbd5e1",
};

export const STATE_LABELS = {
  pending: "pending",
  running: "running",
  ok: "ok",
  http_error: "HTTP error",
  error: "error",
  timeout: "timeout",
  refused: "refused",
  lost: "lost",
};

const DASH = "–";

export function seconds(v) {
  if (v === null || v === undefined) return DASH;
  if (v < 10) return `${v.toFixed(3)} s`;
  if (v < 120) return `${v.toFixed(1)} s`;
  const total = Math.round(v);
  return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
}

// Thousands with commas, like Python's "{:,}" (toLocaleString is slow over thousands of bars).
export function count(v) {
  return v === null || v === undefined
    ? DASH
    : String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function millis(v) {
  return v === null || v === undefined ? DASH : `${count(v * 1000)} ms`;
}

export function percent(v) {
  return v === null || v === undefined ? DASH : `${(v * 100).toFixed(0)} %`;
}

export function times(v) {
  return v === null || v === undefined ? DASH : `${v.toFixed(2)}×`;
}

export function rate(v) {
  return v === null || v === undefined
    ? DASH
    : `${v.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 })} /s`;
}

export function ago(epoch, now) {
  if (epoch === null || epoch === undefined) return "never";
  const delta = Math.max(0, now - epoch);
  if (delta < 60) return `${delta.toFixed(0)} s ago`;
  if (delta < 3600) return `${(delta / 60).toFixed(0)} min ago`;
  return `${(delta / 3600).toFixed(1)} h ago`;
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

export function shortWorker(name) {
  if (!name) return DASH;
  return name.length === 32 && /^[0-9a-z]+$/i.test(name) ? name.slice(0, 8) : name;
}

export function lane(t) {
  return t.host ? `${t.host} / ${t.worker} / ${t.pid} / ${t.thread}` : DASH;
}

export function shortLane(t) {
  return t.host ? `${t.host} / ${shortWorker(t.worker)} / ${t.pid} / ${t.thread}` : DASH;
}

export function timeOrigin(run) {
  const starts = [];
  for (const t of run.tasks || []) if (t.started_at != null) starts.push(t.started_at);
  for (const s of run.running || []) starts.push(s.started_at);
  return starts.length ? Math.min(...starts) : null;
}

// One row per task, as web/runview.py builds them: ended, running, then pending.
export function taskRows(run) {
  const t0 = timeOrigin(run);
  const rows = new Map();
  for (const t of run.tasks || []) {
    rows.set(t.index, {
      index: t.index, url: t.url, state: t.state, status: t.status_code, bytes: t.bytes,
      start: t.started_at != null && t0 != null ? t.started_at - t0 : null,
      duration: t.duration_s, cpu: t.cpu_s, lane: lane(t), laneLabel: shortLane(t),
      attempt: t.attempt, error: t.error,
    });
  }
  for (const s of run.running || []) {
    if (rows.has(s.index)) continue;
    rows.set(s.index, {
      index: s.index, url: s.url, state: "running", status: null, bytes: null,
      start: t0 != null ? s.started_at - t0 : null, duration: null, cpu: null,
      lane: lane(s), laneLabel: shortLane(s), attempt: s.attempt, error: null,
    });
  }
  (run.spec.urls || []).forEach((url, index) => {
    if (!rows.has(index)) {
      rows.set(index, {
        index, url, state: "pending", status: null, bytes: null, start: null, duration: null,
        cpu: null, lane: DASH, laneLabel: DASH, attempt: null, error: null,
      });
    }
  });
  return [...rows.values()].sort((a, b) => a.index - b.index);
}

export function sortRows(rows, key, desc) {
  const present = rows.filter((r) => r[key] !== null && r[key] !== undefined);
  const missing = rows.filter((r) => r[key] === null || r[key] === undefined);
  present.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    let c = typeof x === "string" ? x.localeCompare(y) : x - y;
    if (c === 0) c = a.index - b.index;
    return desc ? -c : c;
  });
  return present.concat(missing);
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

export const PLOTLY_CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toImage"],
};

export const PLOTLY_FONT = {
  family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
  size: 12,
  color: "#334155",
};
