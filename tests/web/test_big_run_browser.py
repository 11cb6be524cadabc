"""A run of 20,000 tasks in a real headless Chromium: the page stays small, the timeline draws
lanes binned over time and zooms down to single bars, the table pages, sorts and filters through
the server. The page used to embed every task (13.6 MB of HTML at 20,000) and draw 20,000 bars.
"""

from __future__ import annotations

import random
import re

import pytest
import requests

from contract.states import TaskState
from tests.web.conftest import ARTIFACTS, assert_no_csp_violation
from tests.web.records import write_run

pytestmark = pytest.mark.browser

TASKS = 20_000
DRAWN_MS = 60_000


@pytest.fixture
def big_run(redis_client) -> tuple[str, int]:
    """20,000 ended tasks of 50 ms on two lanes; about one in ten did not end ok."""
    rng = random.Random(7)
    states = [TaskState.ERROR if rng.random() < 0.1 else TaskState.OK for _ in range(TASKS)]
    urls = [f"http://127.0.0.1:9/page/{i}" for i in range(TASKS)]
    run_id = write_run(redis_client, urls, states, duration_s=0.05)
    return run_id, states.count(TaskState.ERROR)


def timeline(page) -> dict[str, str]:
    return page.evaluate("() => ({...document.getElementById('timeline').dataset})")


def test_a_20000_task_run_draws_binned_lanes_zooms_to_bars_and_pages(page, web_server, big_run):
    run_id, errors = big_run
    html = requests.get(f"{web_server.url}/runs/{run_id}", timeout=30).text
    assert len(html) < 150_000, "the page embeds one page of rows, not 20,000"

    page.goto(f"/runs/{run_id}")
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DRAWN_MS)
    drawn = timeline(page)
    assert drawn["mode"] == "bins" and drawn["lanes"] == "2"
    assert page.locator("#timeline .heatmaplayer image").count() == 1  # one image, not 20,000 bars
    assert page.locator("#timeline .barlayer .point").count() == 0
    page.screenshot(path=str(ARTIFACTS / "run-20000.png"), full_page=True)

    # Zoom to one second: about 40 tasks, drawn as single bars; double-click zooms out again.
    page.evaluate("() => Plotly.relayout('timeline', {'xaxis.range': [10, 11]})")
    page.wait_for_function(
        "() => document.getElementById('timeline').dataset.mode === 'bars'", timeout=DRAWN_MS
    )
    bars = int(timeline(page)["bars"])
    assert 30 <= bars <= 50
    assert page.locator("#timeline .barlayer .point").count() == bars
    page.evaluate("() => Plotly.relayout('timeline', {'xaxis.autorange': true})")
    page.wait_for_function(
        "() => document.getElementById('timeline').dataset.mode === 'bins'", timeout=DRAWN_MS
    )

    rows = page.locator("table.tasks tbody tr")
    assert rows.count() == 100
    assert page.inner_text("[data-page-note]") == "rows 1\u2013100 of 20,000"
    page.click('[data-page="next"]')
    page.wait_for_function("() => document.querySelector('[data-table]').dataset.offset === '100'")
    assert rows.first.locator("td").first.inner_text() == "100"
    assert "page=2" in page.url

    page.click('[data-table] a[data-filter="error"]')
    page.wait_for_function(
        f"() => document.querySelector('[data-table]').dataset.matched === '{errors}'"
    )
    assert page.locator("table.tasks tbody .badge.state-error").count() == min(100, errors)
    assert re.fullmatch(rf"rows 1\u2013100 of {errors:,}", page.inner_text("[data-page-note]"))

    page.click('th a[data-sort="index"]')  # index ascending -> descending
    page.wait_for_function(
        "() => document.querySelector('th:has(a[data-sort=\"index\"])')"
        ".getAttribute('aria-sort') === 'descending'"
    )
    first = int(rows.first.locator("td").first.inner_text())
    assert first > TASKS - 200 and "state=error" in page.url and "order=desc" in page.url
    assert_no_csp_violation(page)
