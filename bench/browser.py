"""The run page in Debian's headless Chromium (driven by Playwright, never a downloaded browser):
how long a fresh page load takes to draw the whole timeline, and the page's JS heap once drawn.

The page marks its timeline: `dataset.drawnAt` is `performance.now()` (milliseconds from the
navigation's start) at the first draw, `dataset.final` is "true" once a finished run's whole
timeline is drawn (`web/static/runtimeline.js`).
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
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
    """One Chromium for the scenario; each `load` is a new browser context (empty cache, no
    cookies), so every load fetches the page, its scripts and its data afresh."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        if not Path(executable).exists() and not shutil.which("chromium"):
            raise RuntimeError(f"{executable} is missing: apt-get install chromium")
        self.executable = executable
        self._playwright: Any = None
        self._browser: Any = None

    def __enter__(self) -> RunPageBrowser:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=self.executable, args=CHROMIUM_ARGS
        )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    @property
    def version(self) -> str:
        return str(self._browser.version)

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


def _ms(value: float | None) -> float:
    return math.nan if value is None else float(value)
