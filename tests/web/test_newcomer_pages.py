"""The pages as a newcomer meets them, in a real Chromium: the form counts an uploaded file's
URLs, plotly's zoom tip never covers the run page's export buttons, and a hybrid run's timeline
has a lane per slot."""

from __future__ import annotations

import re

import pytest
import requests

from contract.states import Strategy, TaskState
from tests.web.conftest import DONE_TIMEOUT_MS
from tests.web.records import write_run

pytestmark = pytest.mark.browser


def test_the_form_counts_the_urls_of_an_uploaded_file(page):
    page.goto("/")
    lines = [f"http://127.0.0.1:9/x?n={i}" for i in range(20_000)]
    body = "\n".join(["# a comment", "", *lines, ""]).encode()
    page.set_input_files(
        "#urls_file", files=[{"name": "urls.txt", "mimeType": "text/plain", "buffer": body}]
    )
    page.wait_for_function(
        "() => document.querySelector('[data-url-count]').textContent.startsWith('20,000 URLs')"
    )
    page.fill("#urls", "http://127.0.0.1:9/one")
    page.wait_for_function(
        "() => document.querySelector('[data-url-count]').textContent.startsWith('20,001 URLs')"
    )
    page.set_input_files("#urls_file", files=[])
    page.wait_for_function(
        "() => document.querySelector('[data-url-count]').textContent === '1 URL'"
    )


def test_zooming_the_timeline_leaves_the_export_buttons_uncovered(page, web_server, origin_url):
    body = {
        "urls": [f"{origin_url}/delay/100?n={i}" for i in range(6)],
        "strategy": "threads",
        "concurrency": 2,
    }
    response = requests.post(f"{web_server.url}/api/runs", json=body, timeout=10)
    assert response.status_code == 202
    page.goto(response.json()["url"])
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    box = page.locator("#timeline .nsewdrag").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.2 * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + 0.5 * box["width"], y, steps=8)
    page.mouse.up()
    page.wait_for_timeout(500)  # plotly shows its tip once the zoom is drawn
    assert page.locator(".notifier-note").count() == 0
    trace = page.get_by_role("link", name=re.compile("Export trace"))
    button = trace.bounding_box()
    at = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).textContent",
        [button["x"] + button["width"] / 2, button["y"] + button["height"] / 2],
    )
    assert at == "Export trace"


def test_a_hybrid_timeline_has_a_lane_per_slot_not_per_pool_thread(page, redis_client):
    """16 tasks, 2 at a time on one worker process, each pair on other threads of its pool (as
    a hybrid run's jobs take whichever are free): 2 lanes, not 8."""
    urls = [f"http://a.example/{i}" for i in range(16)]
    timings = [((i // 2) * 0.25, 0.25) for i in range(16)]
    run_id = write_run(redis_client, urls, [TaskState.OK] * 16, strategy=Strategy.HYBRID,
                       timings_s=timings, threads=8)  # fmt: skip
    page.goto(f"/runs/{run_id}")
    page.wait_for_selector('#timeline[data-final="true"]', timeout=DONE_TIMEOUT_MS)
    assert page.get_attribute("#timeline", "data-bars") == "16"
    assert page.get_attribute("#timeline", "data-lanes") == "2"
    ticks = page.locator("#timeline .ytick").all_text_contents()
    assert len(ticks) == 2 and all(tick.endswith(("slot 1", "slot 2")) for tick in ticks), ticks
