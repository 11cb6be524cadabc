"""The Lessons page in the real stack: each step's button starts that step's comparison, and the
answer the page shows once it ends (swapped in by lessons.js, without a reload) names that
comparison's own figures as the API reports them."""

from __future__ import annotations

import re

import pytest
import requests

from tests.conftest import ARTIFACTS
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation
from web import lessons
from web.formats import seconds, times

pytestmark = pytest.mark.browser


def _figures(record: dict) -> list[str]:
    """What the page must say of a comparison: each strategy's wall time and, but for
    sequential, its speed-up against sequential, written as the page writes them."""
    said = []
    for row in record["rows"]:
        said.append(seconds(row["wall_s"]["median"]))
        if row["strategy"] != "sequential":
            said.append(times(row["vs_sequential"]["median"]))
    return said


def test_each_step_runs_its_comparison_and_explains_its_numbers(page, web_server):
    page.goto("/lessons")
    for lesson in lessons.LESSONS:
        step = page.locator(f"#{lesson.key}")
        page.click(f'[data-lesson-run="{lesson.key}"]')
        page.wait_for_url(re.compile(rf"[?&]{lesson.key}=[0-9a-f]{{12}}"))
        comparison_id = step.get_attribute("data-comparison-id")
        assert comparison_id and f"{lesson.key}={comparison_id}" in page.url

        record = requests.get(
            f"{web_server.url}/api/compare/{comparison_id}?tasks=false", timeout=10
        ).json()
        assert record["strategies"] == lesson.strategy_names
        assert record["spec"]["workload"] == lesson.workload.value
        assert record["spec"]["concurrency"] == lesson.concurrency
        assert record["total"] == lessons.LESSON_URLS

        page.wait_for_selector(f'#{lesson.key}[data-final="true"]', timeout=DONE_TIMEOUT_MS)
        record = requests.get(
            f"{web_server.url}/api/compare/{comparison_id}?tasks=false", timeout=10
        ).json()
        assert record["provisional"] is False
        text = step.locator("[data-answer]").inner_text()
        for figure in _figures(record):
            assert figure in text, (lesson.key, figure, text)
        for run in record["runs"]:
            if run["host_load"] and run["host_load"]["busy"]:
                assert "This answer is not trustworthy" in text
                assert run["host_load"]["note"] in text
    # A reload (every step's id is in the URL by now) shows each answer again, from the server.
    page.reload()
    for lesson in lessons.LESSONS:
        assert page.locator(f'#{lesson.key}[data-final="true"] [data-answer-line]').count() >= 1
    page.screenshot(path=str(ARTIFACTS / "lessons.png"), full_page=True)
    assert_no_csp_violation(page)
