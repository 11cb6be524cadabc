"""The run page in Debian's headless Chromium (driven by Playwright, never a downloaded browser):
how long a fresh page load takes to draw the whole timeline, and the page's JS heap once drawn.

The page marks its timeline: `dataset.drawnAt` is `performance.now()` (milliseconds from the
navigation's start) at the first draw, `dataset.final` is "true" once a finished run's whole
timeline is drawn (`web/static/runtimeline.js`).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


class RunPageBrowser:
    """One Chromium for the scenario (`run_page_browser`); each `load` is a new browser context
    (empty cache, no cookies), so every load fetches the page, its scripts and its data afresh."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self.version = str(browser.version)

    def load(self, url: str) -> PageLoad:
        context = self._browser.new_context()
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
def run_page_browser(executable: str = CHROMIUM) -> Iterator[RunPageBrowser]:
    """Debian's Chromium under Playwright, closed when the block ends."""
    if not Path(executable).exists() and not shutil.which("chromium"):
        raise RuntimeError(f"{executable} is missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield RunPageBrowser(browser)
        finally:
            browser.close()


def _ms(value: float | None) -> float:
    return math.nan if value is None else float(value)
