"""The cost beside the time in a real Chromium: a real comparison (threads, then processes)
through the real web server and workers. While it runs, the page places the server's fresh
cost table as each strategy's run ends; once done, the page reads as the server renders it on a
reload, and the processes run's page shows its children."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import ARTIFACTS
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation

pytestmark = pytest.mark.browser

ROWS = "[data-cost-rows] tr"


def cost_rows(page) -> list[str]:
    return [row.inner_text().split() for row in page.locator(ROWS).all()]


def test_the_pages_fill_in_the_cost_as_runs_end(page, web_server, origin_url):
    urls = [f"{origin_url}/delay/300?n={i}" for i in range(8)]
    body = {"urls": urls, "compare": True, "strategies": ["threads", "processes"]}
    response = requests.post(
        f"{web_server.url}/api/runs", json=body | {"concurrency": 4}, timeout=10
    )
    assert response.status_code == 202
    page.goto(response.json()["url"])
    live = page.locator("[data-cost-compare]")
    assert live.get_attribute("data-final") == "false"  # the script, not the server, fills it
    page.wait_for_function(
        """() => [...document.querySelectorAll("[data-cost-rows] tr")]
            .every((tr) => !tr.innerText.includes("\u2013"))""",
        timeout=DONE_TIMEOUT_MS,
    )
    filled = cost_rows(page)
    threads, processes = filled
    assert threads[0] == "threads" and threads[3:5] == ["1", "(0)"]
    # The worker and its pool's children: 4 at least (a pool kept from an earlier, larger run of
    # the session's workers fits this one too, worker.pools).
    assert processes[0] == "processes" and int(processes[3]) >= 5
    page.reload()
    assert cost_rows(page) == filled  # the script writes what the server renders
    page.screenshot(path=str(ARTIFACTS / "compare-cost.png"), full_page=True)

    api = f"{web_server.url}/api{response.json()['url']}"
    comparison = requests.get(api, timeout=10)
    processes_run = comparison.json()["runs"][1]["id"]
    page.goto(f"/runs/{processes_run}")
    cards = page.locator("[data-cost]")
    assert cards.is_visible()
    assert int(page.inner_text('[data-cost-field="processes"]')) >= 5  # a kept pool may be larger
    assert "MiB" in page.inner_text('[data-cost-field="memory_added"]')
    page.screenshot(path=str(ARTIFACTS / "run-cost.png"), full_page=True)
    assert_no_csp_violation(page)
