"""A real headless Chromium against the real stack on loopback: gunicorn serving `fanout web`,
the session's Redis, origin and two workers. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ARTIFACTS
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation

pytestmark = pytest.mark.browser


def test_form_run_is_drawn_live_with_one_bar_per_task(page, origin_url):
    page.goto("/")
    page.select_option("#preset", "demo")
    demo = page.input_value("#urls").splitlines()
    assert len(demo) == 40 and demo[0].startswith(f"{origin_url}/delay/250")
    smaller = [line.replace("/delay/250", "/delay/300") for line in demo[:12]]
    page.fill("#urls", "\n".join(smaller))
    page.select_option("#strategy", "threads")
    page.fill("#concurrency", "2")
    page.wait_for_function(
        "() => document.querySelector('[data-url-count]').textContent === '12 URLs'"
    )
    page.click("#run")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{12}$"))
    page.wait_for_selector('[data-run-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)

    assert page.get_attribute("#timeline", "data-bars") == "12"
    assert page.locator("#timeline .barlayer .point").count() == 12
    assert page.locator("#timeline .ytick").count() == 2  # one lane per thread
    assert re.fullmatch(r"\d+ %", page.inner_text('[data-field="efficiency"]'))
    assert page.locator("table.tasks tbody tr").count() == 12
    assert page.locator("table.tasks .badge.state-ok").count() == 12
    box = page.locator("#timeline .barlayer .point path").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#timeline .hoverlayer .hovertext")
    assert origin_url in page.locator("#timeline .hoverlayer").text_content()
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "run.png"), full_page=True)

    page.click('th a[data-sort="duration"]')  # the server sorts: wait for its page
    page.wait_for_selector('th[aria-sort="ascending"]:has(a[data-sort="duration"])')
    assert "sort=duration" in page.url


def test_run_page_draws_running_tasks_before_the_run_ends(page, web_server, origin_url):
    """A task on /drip (a byte every 400 ms) runs until the task deadline of the test stack
    (5 s): the run cannot end before then, so the page must show it running, as a bar, without
    a reload."""
    urls = [
        f"{origin_url}/drip?bytes=40&interval_ms=400",
        *(f"{origin_url}/delay/300?n={i}" for i in range(5)),
    ]
    body = {"urls": urls, "strategy": "threads", "concurrency": 2}
    response = requests.post(f"{web_server.url}/api/runs", json=body, timeout=10)
    assert response.status_code == 202
    page.goto(response.json()["url"])
    page.wait_for_function(
        """() => {
            const el = document.getElementById("timeline");
            return document.querySelector("[data-run-id]").dataset.state === "running"
                && Number(el.dataset.running) > 0
                && el.querySelectorAll(".barlayer .point").length === Number(el.dataset.bars);
        }""",
        timeout=DONE_TIMEOUT_MS,
    )
    page.screenshot(path=str(ARTIFACTS / "run-live.png"), full_page=True)
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    assert page.get_attribute("#timeline", "data-bars") == "6"
    assert page.get_attribute("#timeline", "data-running") == "0"
    assert page.locator("table.tasks .badge.state-timeout").count() == 1
    assert_no_csp_violation(page)


def test_invalid_input_is_shown_next_to_the_field(page):
    page.goto("/")
    page.fill("#urls", "http://127.0.0.1/ok\nftp://files.example/nope")
    page.click("#run")
    error = page.locator("#urls-error")
    error.wait_for()
    assert "line 2" in error.inner_text() and "http(s)" in error.inner_text()
    assert page.input_value("#urls").endswith("ftp://files.example/nope")
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "form-error.png"), full_page=True)


def test_compare_draws_every_strategy_on_one_scale(page, origin_url):
    page.goto("/")
    page.fill("#urls", "\n".join(f"{origin_url}/delay/200?n={i}" for i in range(8)))
    page.fill("#concurrency", "4")
    page.click("#compare")
    page.wait_for_url(re.compile(r"/compare/[0-9a-f]{12}$"))
    page.wait_for_selector('[data-comparison-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    timelines = page.locator("[data-timeline-for]")
    assert timelines.count() == 6
    for i in range(6):
        timeline = timelines.nth(i)
        timeline.locator(".barlayer").wait_for()
        page.wait_for_function(
            "(el) => el.dataset.final === 'true'", arg=timeline.element_handle(), timeout=30_000
        )
        assert timeline.get_attribute("data-bars") == "8"
        assert timeline.locator(".barlayer .point").count() == 8
    assert page.locator("#compare-chart .barlayer .point").count() == 12  # wall + ideal x 6
    vs_sequential = page.locator('[data-f="vs_sequential"]').all_inner_texts()
    assert vs_sequential[0] == "1.00\u00d7"
    assert all(text.endswith("\u00d7") for text in vs_sequential)
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)


def test_workers_page_lists_live_workers_and_throughput(page):
    page.goto("/workers")
    page.wait_for_selector("#throughput[data-points]")
    page.wait_for_selector("#throughput .barlayer")
    rows = page.locator("[data-worker-rows] tr")
    assert rows.count() >= 2
    assert int(page.inner_text('[data-w="live"]')) >= 2
    assert page.locator("#throughput .scatterlayer .trace").count() == 1  # live workers line
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "workers.png"), full_page=True)


def test_new_run_and_runs_pages(page, web_server, origin_url):
    # Its own run for the list, rather than whatever tests happened to run before this one.
    body = {"urls": [f"{origin_url}/delay/0"], "strategy": "sequential", "concurrency": 1}
    assert requests.post(f"{web_server.url}/api/runs", json=body, timeout=10).status_code == 202
    page.goto("/?preset=failures")
    assert "/status/404" in page.input_value("#urls")
    assert page.is_visible("#preset") and not page.is_visible("[data-preset-links]")
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "new-run.png"), full_page=True)
    page.goto("/runs")
    assert page.locator("table.runs tbody tr").count() >= 1
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "runs.png"), full_page=True)
