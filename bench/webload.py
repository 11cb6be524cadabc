"""What the web tier costs while a scenario reads it: timed GETs, the gunicorn processes' peak
RSS sampled in a thread, and the run page in Debian's headless Chromium (driven by Playwright,
never a downloaded browser): how long a fresh page load takes to draw the whole timeline, and
the page's JS heap once drawn.

The page marks its timeline: `dataset.drawnAt` is `performance.now()` (milliseconds from the
navigation's start) at the first draw, `dataset.final` is "true" once a finished run's whole
timeline is drawn (`web/static/runtimeline.js`).
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import requests

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def session() -> requests.Session:
    """One keep-alive client, never through a proxy (the web app is on loopback)."""
    client = requests.Session()
    client.trust_env = False
    return client


def timed_ms(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def timed_get(client: requests.Session, url: str) -> float:
    """Milliseconds to the whole body (read, not parsed)."""
    return timed_ms(lambda: client.get(url, timeout=300).raise_for_status())


@dataclass
class RssPeak:
    """The peak RSS (bytes) of the gunicorn master and of its worker processes (the largest
    one's)."""

    master_bytes: int = 0
    worker_bytes: int = 0


@contextmanager
def web_rss_peak(master_pid: int) -> Iterator[RssPeak]:
    """The peaks, sampled every 50 ms in a thread while the block runs."""
    master, peak, stop = psutil.Process(master_pid), RssPeak(), threading.Event()

    def sample() -> None:
        while True:
            try:
                peak.master_bytes = max(peak.master_bytes, master.memory_info().rss)
                for child in master.children():
                    peak.worker_bytes = max(peak.worker_bytes, child.memory_info().rss)
            except psutil.Error:
                pass  # a worker exiting between the listing and the read
            if stop.wait(0.05):
                return

    thread = threading.Thread(target=sample, name="web-rss", daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: How long one page load may take to draw its final timeline.
DRAWN_TIMEOUT_MS = 120_000

#: The timeline's marks, and the page's first timeline request (Resource Timing): where the
#: time to the draw went.
_TIMELINE = """() => {
  const el = document.getElementById('timeline');
  const asked = performance.getEntriesByType('resource').find((r) => r.name.includes('/timeline'));
  return {
    ...el.dataset,
    askedAt: asked ? asked.startTime : null,
    answeredAt: asked ? asked.responseEnd : null,
  };
}"""


@dataclass(frozen=True)
class PageLoad:
    """One fresh load of a run's page, in milliseconds from the navigation's start: when the
    page asked for the timeline, when the answer had arrived and when the timeline was drawn;
    the main thread's CPU time and the JS heap in use once drawn (bytes), both from CDP
    `Performance.getMetrics`; and what the page drew (`mode` "bars" or "bins", lanes)."""

    drawn_ms: float
    asked_ms: float
    answered_ms: float
    #: CPU time of the page's main thread by then (CDP ThreadTime): the page's own work, which
    #: the machine's load does not stretch as it stretches the wall-clock marks.
    main_thread_cpu_ms: float
    js_heap_bytes: float
    mode: str
    lanes: int


def load_run_page(browser: Browser, url: str) -> PageLoad:
    """One fresh load of a run's page: a new browser context (empty cache, no cookies), so it
    fetches the page, its scripts and its data afresh."""
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.goto(url)
        page.wait_for_function(
            "() => document.getElementById('timeline').dataset.final === 'true'",
            timeout=DRAWN_TIMEOUT_MS,
        )
        drawn = page.evaluate(_TIMELINE)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return PageLoad(
            drawn_ms=float(drawn["drawnAt"]),
            asked_ms=_ms(drawn["askedAt"]),
            answered_ms=_ms(drawn["answeredAt"]),
            main_thread_cpu_ms=float(metrics["ThreadTime"]) * 1000,
            js_heap_bytes=float(metrics["JSHeapUsedSize"]),
            mode=str(drawn.get("mode")),
            lanes=int(drawn.get("lanes") or 0),
        )
    finally:
        context.close()


@contextmanager
def run_page_browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, one for the scenario, closed when the block ends."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _ms(value: float | None) -> float:
    return math.nan if value is None else float(value)
