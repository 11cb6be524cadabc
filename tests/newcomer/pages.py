"""Every page a newcomer opens, in headless Chromium, judged by what they would see: the chart
drawn, the final state in the header, every figure filled, no failed asset, no script error."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.newcomer.clone_stack import ROOT
from tests.newcomer.findings import Findings
from tests.newcomer.quick_start import DEMO_URLS, STRATEGIES, SWEEP_WORKERS
from tests.web.conftest import console_problem, request_problem, response_problem

#: Where each page's screenshot always goes, for the CI log.
ARTIFACTS = ROOT / "test-artifacts" / "newcomer"

#: Set (e.g. to docs/img, relative to the repository) to refresh the docs' pictures with the
#: screenshots of the pages that passed every check.
SCREENSHOTS_ENV = "FANOUT_SCREENSHOTS"

VIEWPORT = {"width": 1360, "height": 900}
#: The first wait on a page: plotly.js's evaluation alone takes a second or more on a busy host.
FIRST_WAIT_MS = 45_000
WAIT_MS = 20_000
#: What a figure shows when it has no value.
EMPTY = {"", "-", "\u2013", "\u2014"}

Step = tuple[str, Callable[[Page], None]]


@dataclass
class PageSpec:
    name: str
    path: str
    steps: list[Step]


def _filled(texts: list[str], what: str) -> None:
    empty = [text for text in texts if text.strip() in EMPTY or "so far" in text]
    assert texts and not empty, f"{what}: {len(empty)} of {len(texts)} empty or so far: {texts}"


def _plotly_drawn(page: Page, selector: str) -> None:
    expect(page.locator(f"{selector} .main-svg").first).to_be_visible(timeout=FIRST_WAIT_MS)


def home() -> PageSpec:
    def form(page: Page) -> None:
        for field in ("#urls", "#strategy", "#concurrency", "#run", "#compare"):
            expect(page.locator(field)).to_be_visible(timeout=WAIT_MS)

    return PageSpec("home", "/", [("the form", form)])


def run(path: str) -> PageSpec:
    def header(page: Page) -> None:
        expect(page.locator("h1 [data-run-state]")).to_have_text("done", timeout=FIRST_WAIT_MS)

    def timeline(page: Page) -> None:
        _plotly_drawn(page, "#timeline")
        expect(page.locator("#timeline")).to_have_attribute("data-final", "true", timeout=WAIT_MS)
        expect(page.locator("#timeline .barlayer .point")).to_have_count(DEMO_URLS)

    def figures(page: Page) -> None:
        expect(page.locator("[data-summary]")).to_have_attribute("data-provisional", "false")
        expect(page.locator('[data-field="done"]')).to_have_text(str(DEMO_URLS))
        _filled(page.locator("[data-summary] .stat-value").all_inner_texts(), "summary cards")

    def tasks(page: Page) -> None:
        expect(page.locator("table.tasks tbody tr")).to_have_count(DEMO_URLS)

    steps = [("header shows done", header), ("timeline drawn", timeline)]
    return PageSpec("run", path, [*steps, ("figures filled", figures), ("task table", tasks)])


def compare(path: str) -> PageSpec:
    def header(page: Page) -> None:
        expect(page.locator("h1 [data-run-state]")).to_have_text("done", timeout=FIRST_WAIT_MS)

    def chart(page: Page) -> None:
        _plotly_drawn(page, "#compare-chart")
        bars = page.locator("#compare-chart .barlayer .point")
        expect(bars).to_have_count(2 * len(STRATEGIES))  # wall and ideal per strategy

    def timelines(page: Page) -> None:
        each = page.locator("[data-timeline-for]")
        expect(each).to_have_count(len(STRATEGIES))
        for i in range(len(STRATEGIES)):
            expect(each.nth(i).locator(".main-svg").first).to_be_visible(timeout=WAIT_MS)
            expect(each.nth(i)).to_have_attribute("data-final", "true", timeout=WAIT_MS)
            expect(each.nth(i)).to_have_attribute("data-bars", str(DEMO_URLS))

    def figures(page: Page) -> None:
        expect(page.locator("[data-compare-rows] tr")).to_have_count(len(STRATEGIES))
        _filled(page.locator("[data-compare-rows] td[data-f]").all_inner_texts(), "table")

    steps = [("header shows done", header), ("chart drawn", chart)]
    return PageSpec("compare", path, [*steps, ("timelines drawn", timelines), ("figures", figures)])


def runs(run_path: str | None) -> PageSpec:
    def listed(page: Page) -> None:
        expect(page.locator("table.runs tbody tr").first).to_be_visible(timeout=WAIT_MS)
        if run_path:
            expect(page.locator(f'table.runs a[href="{run_path}"]')).to_have_count(1)
        expect(page.locator('table.runs tbody tr[data-provisional="true"]')).to_have_count(0)
        _filled(page.locator("table.runs tbody td.num").all_inner_texts(), "runs' figures")

    return PageSpec("runs", "/runs", [("every run listed, done and filled", listed)])


def workers(live: int) -> PageSpec:
    def chart(page: Page) -> None:
        _plotly_drawn(page, "#throughput")
        expect(page.locator("#throughput")).to_have_attribute("data-points", re.compile(r"^\d+$"))

    def scaled(page: Page) -> None:
        expect(page.locator('[data-w="live"]')).to_have_text(str(live), timeout=60_000)
        expect(page.locator('[data-w="target"]')).to_contain_text(f"Target: {live} in total")
        assert page.locator("[data-worker-rows] tr").count() >= live

    def tree(page: Page) -> None:
        rows = page.locator('[data-proctree] tr[data-role="worker"]')
        expect(rows).to_have_count(live, timeout=WAIT_MS)
        expect(page.locator('[data-proctree] tr[data-role="supervisor"]')).to_have_count(1)

    steps = [("throughput chart drawn", chart), (f"{live} live workers", scaled)]
    return PageSpec("workers", "/workers", [*steps, ("process tree drawn", tree)])


def sweeps(sweep_path: str | None) -> PageSpec:
    def listed(page: Page) -> None:
        if sweep_path:
            expect(page.locator(f'a[href="{sweep_path}"]').first).to_be_visible(timeout=WAIT_MS)

    return PageSpec("sweeps", "/sweeps", [("the sweep is listed", listed)])


def lessons() -> PageSpec:
    def steps(page: Page) -> None:
        expect(page.locator("[data-lesson]")).to_have_count(5, timeout=WAIT_MS)
        expect(page.locator("[data-lesson-run]")).to_have_count(5)
        expect(page.locator("nav a").first).to_have_text("Lessons")

    return PageSpec("lessons", "/lessons", [("five steps, first in the nav", steps)])


def sweep(path: str) -> PageSpec:
    def header(page: Page) -> None:
        expect(page.locator('[data-s="state"]')).to_have_text("done", timeout=FIRST_WAIT_MS)

    def chart(page: Page) -> None:
        _plotly_drawn(page, "#sweep-chart")
        chart = page.locator("#sweep-chart")
        expect(chart).to_have_attribute("data-points", str(len(SWEEP_WORKERS)))
        expect(chart).to_have_attribute("data-traces", "3")  # measured, ideal, USL fit

    def figures(page: Page) -> None:
        expect(page.locator('[data-s="fit"]')).to_contain_text("\u03c3 (contention)")  # sigma
        expect(page.locator("[data-sweep-rows] tr")).to_have_count(len(SWEEP_WORKERS))
        _filled(page.locator("[data-sweep-rows] td.num").all_inner_texts(), "sweep table")

    steps = [("header shows done", header), ("chart drawn", chart)]
    return PageSpec("sweep", path, [*steps, ("fit and figures", figures)])


def api() -> PageSpec:
    def reference(page: Page) -> None:
        expect(page.locator("body")).to_contain_text("/api/runs", timeout=WAIT_MS)

    return PageSpec("api", "/api", [("the API reference", reference)])


def visit(browser: Browser, base_url: str, spec: PageSpec, findings: Findings) -> None:
    """Open the page, run its steps (each failure recorded, the rest still run), then judge its
    requests and console, and keep a screenshot."""
    context = browser.new_context(viewport=VIEWPORT, base_url=base_url)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: console_problem(message, problems))
    page.on("response", lambda response: response_problem(response, problems))
    page.on("requestfailed", lambda request: request_problem(request, problems))
    before = len(findings.failures)
    where = f"{spec.name} page {spec.path}"
    try:
        with findings.check(f"{where}: opens"):
            response = page.goto(spec.path)
            status = response.status if response else None
            assert status is not None and status < 400, f"answered {status}"
        if findings.ok_since(before):
            for label, step in spec.steps:
                with findings.check(f"{where}: {label}"):
                    step(page)
        with findings.check(f"{where}: no failed asset or console error"):
            assert not problems, problems
        with findings.check(f"{where}: screenshot"):
            _screenshot(page, spec.name, passed=findings.ok_since(before))
    finally:
        context.close()


def _screenshot(page: Page, name: str, passed: bool) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    docs = os.environ.get(SCREENSHOTS_ENV)
    if docs and passed:
        target = ROOT / docs if not Path(docs).is_absolute() else Path(docs)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target / f"{name}.png")
