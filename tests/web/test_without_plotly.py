"""Pages whose chart library did not load (plotly.js answered 503: `make assets` never ran) still
show everything else live: the run's state, progress, cards and table; each chart says why it
is missing. A real Chromium with the bundle's URL answered 503 by the test: the run, compare,
workers and sweep pages."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator

import pytest
import requests

from contract import keys
from contract.records import RunSpec
from contract.states import Strategy, Workload
from tests.conftest import ARTIFACTS
from tests.web.conftest import (
    CSP_WATCH_SCRIPT,
    DONE_TIMEOUT_MS,
    assert_no_csp_violation,
    console_problem,
    request_problem,
    response_problem,
)
from web.assets import BUNDLE

pytestmark = pytest.mark.browser

PLOTLY = re.compile(rf".*/static/vendor/{re.escape(BUNDLE)}.*")


@pytest.fixture
def bare_page(browser, web_server, workers) -> Iterator[object]:
    """A page on which plotly.js answers 503, failing the test on any other problem."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=web_server.url)
    context.add_init_script(CSP_WATCH_SCRIPT)
    context.route(PLOTLY, lambda route: route.fulfill(status=503, body="missing"))
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: console_problem(message, problems))
    page.on(
        "response",
        lambda response: (
            None if PLOTLY.match(response.url) else response_problem(response, problems)
        ),
    )
    page.on(
        "requestfailed",
        lambda request: None if PLOTLY.match(request.url) else request_problem(request, problems),
    )
    yield page
    context.close()
    assert not problems, problems


def chart_says_why(page, selector: str) -> None:
    note = page.locator(f"{selector} [data-chart-unavailable]").first
    note.wait_for(timeout=DONE_TIMEOUT_MS)
    text = note.inner_text()
    assert "plotly.js" in text and "did not load" in text, text
    assert "server did not answer" not in text


def test_the_run_page_stays_live_without_plotly(bare_page, web_server, origin_url):
    page = bare_page
    body = {
        "urls": [f"{origin_url}/delay/200?n={i}" for i in range(10)],
        "strategy": "threads",
        "concurrency": 2,
    }
    response = requests.post(f"{web_server.url}/api/runs", json=body, timeout=10)
    assert response.status_code == 202
    page.goto(response.json()["url"])
    page.wait_for_selector('[data-run-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    assert page.inner_text("[data-run-state]") == "done"
    assert page.inner_text('[data-field="done"]') == "10"
    assert re.fullmatch(r"\d+ %", page.inner_text('[data-field="efficiency"]'))
    assert page.inner_text('[data-field="peak_concurrency"]') == "2"
    assert page.locator("table.tasks .badge.state-ok").count() == 10
    chart_says_why(page, "#timeline")
    assert page.locator("#banner").is_hidden()
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "run-without-plotly.png"), full_page=True)


def test_the_compare_page_stays_live_without_plotly(bare_page, origin_url):
    page = bare_page
    page.goto("/")
    page.fill("#urls", "\n".join(f"{origin_url}/delay/100?n={i}" for i in range(4)))
    page.fill("#concurrency", "2")
    page.click("#compare")
    page.wait_for_url(re.compile(r"/compare/[0-9a-f]{12}$"))
    page.wait_for_selector('[data-comparison-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    assert all(
        text.endswith("\u00d7")
        for text in page.locator('[data-f="vs_sequential"]').all_inner_texts()
    )
    chart_says_why(page, "#compare-chart")
    chart_says_why(page, "[data-timeline-for]")
    assert page.locator("#banner").is_hidden()
    page.screenshot(path=str(ARTIFACTS / "compare-without-plotly.png"), full_page=True)


def test_the_workers_page_stays_live_without_plotly(bare_page):
    page = bare_page
    page.goto("/workers")
    chart_says_why(page, "#throughput")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-w=\"live\"]').textContent) >= 2"
    )
    assert page.locator("[data-worker-rows] tr").count() >= 2
    assert page.locator("#banner").is_hidden()


def test_the_sweep_page_stays_live_without_plotly(bare_page, redis_client):
    """A sweep ended with two points, written as producer.sweep keeps it."""
    sweep_id = secrets.token_hex(6)
    spec = RunSpec(("http://a.example/0",), Strategy.QUEUE, 1, Workload.FETCH)
    points = [
        {"workers": n, "throughput": 10.0 * n, "wall_s": 1.0 / n, "efficiency": 0.9,
         "others_cores": 0.0, "run_id": secrets.token_hex(6)}
        for n in (1, 2)
    ]  # fmt: skip
    redis_client.hset(
        keys.sweep_key(sweep_id),
        mapping={
            "id": sweep_id,
            "spec": json.dumps(spec.to_dict()),
            "counts": "[1, 2]",
            "state": "done",
            "step": 2,
            "points": json.dumps(points),
            "restore": "null",
            "submitted_at": repr(time.time() - 5),
            "finished_at": repr(time.time()),
        },
    )
    redis_client.expire(keys.sweep_key(sweep_id), 600)
    page = bare_page
    page.goto(f"/sweeps/{sweep_id}")
    chart_says_why(page, "#sweep-chart")
    assert page.locator("[data-sweep-rows] tr").count() == 2
    assert page.locator("#banner").is_hidden()
