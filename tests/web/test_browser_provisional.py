"""The compare, run and workers pages in a real Chromium while figures are still partial: a
real comparison through the real web server and workers, watched every 50 ms so that no frame
ever shows a verdict before both runs behind it are final. The reader's coming fields
are served, in their specified shape, by intercepting the page (`page.route`): what the server
renders of such a record, which the open page must place as it is."""

from __future__ import annotations

import json
import re

import pytest
import requests

from contract.states import Strategy, TaskState
from tests.conftest import ARTIFACTS
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation
from tests.web.records import comparison_runs, write_comparison, write_run
from tests.web.shapes import comparison_shape, run_shape
from tests.web.test_provisional_pages import render_compare, render_run

pytestmark = pytest.mark.browser

TIMES = "\u00d7"

#: Records what the compare page shows every 50 ms, from the first paint to the end.
COMPARE_RECORDER = """
window.__frames = [];
document.addEventListener("DOMContentLoaded", () => {
  const take = () => {
    const root = document.querySelector("[data-comparison-id]");
    const chart = document.getElementById("compare-chart");
    const empty = root.querySelector("[data-chart-empty]");
    const rows = [...root.querySelectorAll("tbody tr")].map((tr) => {
      const vs = tr.querySelector('[data-f="vs_sequential"]');
      return {
        strategy: tr.querySelector("th").innerText.trim().split(/\\s/)[0],
        provisional: tr.dataset.provisional ?? null,
        state: tr.querySelector("[data-run-state]")?.textContent ?? null,
        vs: vs.innerText,
        strong: vs.classList.contains("strong") || Boolean(vs.querySelector("b, strong")),
        wall: tr.querySelector('[data-f="wall_s"]').innerText,
      };
    });
    window.__frames.push({
      state: root.dataset.state,
      rows,
      chartEmpty: Boolean(empty) && !empty.hidden,
      chartDrawn: !chart.hidden && Boolean(chart.querySelector(".main-svg")),
      verdicts: [...chart.querySelectorAll(".annotation-text")]
        .map((a) => a.textContent).filter((t) => t.includes("vs sequential")),
    });
  };
  take();
  setInterval(take, 50);
});
"""


def assert_frame_is_truthful(frame: dict) -> None:
    """No frame may show a figure as final, or a verdict, before the runs behind it end."""
    final = {row["strategy"]: row["provisional"] == "false" for row in frame["rows"]}
    for row in frame["rows"]:
        if row["state"] != "done":
            assert row["provisional"] == "true", (row, frame)
        if row["provisional"] != "false" or not final.get("sequential"):
            assert TIMES not in row["vs"] and not row["strong"], (row, frame)
        if row["provisional"] == "true" and row["wall"] != "\u2013":
            assert "so far" in row["wall"], (row, frame)
    if not any(final.values()):
        assert frame["chartEmpty"] and not frame["chartDrawn"], frame
    finished_pairs = sum(final.values()) if final.get("sequential") else 0
    assert len(frame["verdicts"]) <= finished_pairs, frame


def test_compare_page_shows_a_real_comparison_as_provisional_until_it_ends(
    page, web_server, origin_url
):
    """sequential (8 x 400 ms one after another: ~3.2 s), then threads x 2 (~1.6 s)."""
    page.add_init_script(COMPARE_RECORDER)
    urls = [f"{origin_url}/delay/400?n={i}" for i in range(8)]
    body = {"urls": urls, "compare": True, "strategies": ["sequential", "threads"]}
    response = requests.post(
        f"{web_server.url}/api/runs", json=body | {"concurrency": 2}, timeout=10
    )
    assert response.status_code == 202
    page.goto(response.json()["url"])

    # During the first run: partial figures greyed, "so far", no verdict, no chart axis.
    page.wait_for_function(
        """() => {
            const root = document.querySelector("[data-comparison-id]");
            const seq = root.querySelector('tbody tr[data-provisional="true"] [data-f="wall_s"]');
            return root.dataset.state === "running" && seq && seq.innerText.includes("so far");
        }""",
        timeout=30_000,
    )
    assert page.is_visible("[data-chart-empty]")
    assert "No run has finished yet" in page.inner_text("[data-chart-empty]")
    assert page.locator("#compare-chart .main-svg").count() == 0
    assert page.locator('tbody tr[data-provisional="true"]').count() == 2
    figure = page.locator('tbody tr[data-provisional="true"] [data-f="wall_s"] .fig').first
    greyed = figure.evaluate("(el) => getComputedStyle(el).color")
    assert greyed != page.evaluate("getComputedStyle(document.body).color")
    page.screenshot(path=str(ARTIFACTS / "compare-live.png"), full_page=True)

    page.wait_for_selector('[data-comparison-id][data-state="done"]', timeout=DONE_TIMEOUT_MS)
    for timeline in page.locator("[data-timeline-for]").all():
        page.wait_for_function(
            "(el) => el.dataset.final === 'true'", arg=timeline.element_handle(), timeout=30_000
        )
    page.wait_for_function(
        "() => document.querySelectorAll('tbody tr[data-provisional=\"false\"]').length === 2"
    )
    threads = page.locator("tbody tr").nth(1)
    verdict = threads.locator('[data-f="vs_sequential"]')
    assert re.fullmatch(r"\d+\.\d\d" + TIMES, verdict.inner_text().strip())
    assert "strong" in verdict.get_attribute("class")
    assert "so far" not in page.inner_text("table.compare-table")
    assert not page.is_visible("[data-chart-empty]")
    page.wait_for_function(
        """() => [...document.querySelectorAll("#compare-chart .annotation-text")]
            .filter((a) => a.textContent.includes("vs sequential")).length === 2"""
    )
    frames = page.evaluate("window.__frames")
    assert any(f["state"] != "done" and f["chartEmpty"] for f in frames)
    for frame in frames:
        assert_frame_is_truthful(frame)
    assert_no_csp_violation(page)


def shaped_comparison(web_server, redis_client, urls):
    """A real repeated comparison (sequential and threads, 3 runs each, all done) read back
    through the API, and its schema-shaped views: live (threads' last run still going) and
    final. Threads' last run had a busy host."""
    run_ids = []
    for repeat_index in range(3):
        run_ids.append(
            write_run(
                redis_client,
                urls,
                [TaskState.OK] * len(urls),
                strategy=Strategy.SEQUENTIAL,
                duration_s=0.2 + 0.01 * repeat_index,
            )
        )
        run_ids.append(
            write_run(
                redis_client,
                urls,
                [TaskState.OK] * len(urls),
                duration_s=0.2 + 0.01 * repeat_index,
            )
        )
    comparison_id = write_comparison(redis_client, urls, run_ids)
    run_ids = comparison_runs(redis_client, comparison_id)
    real = requests.get(f"{web_server.url}/api/compare/{comparison_id}?tasks=false", timeout=10)
    record = real.json()
    final = comparison_shape(record, repeat=3, busy_runs=(run_ids[5],))
    going = json.loads(json.dumps(record))
    going["state"] = "running"
    going["runs"][5]["state"] = "running"
    live = comparison_shape(going, repeat=3, busy_runs=(run_ids[5],))
    return comparison_id, live, final


def html(body: str):
    return lambda route: route.fulfill(body=body(), content_type="text/html; charset=utf-8")


def test_compare_page_draws_repeated_runs_as_median_and_range(app, page, web_server, redis_client):
    urls = [f"http://a.example/{i}" for i in range(4)]
    comparison_id, live, final = shaped_comparison(web_server, redis_client, urls)
    served = {"record": live}
    page.route(
        re.compile(rf".*/compare/{comparison_id}$"),
        html(lambda: render_compare(app, served["record"])),
    )
    page.goto(f"/compare/{comparison_id}")
    threads = page.locator('tbody tr[data-row="threads"]')
    threads.locator("text=2/3 runs").wait_for()
    assert threads.get_attribute("data-provisional") == "true"
    wall = threads.locator('[data-f="wall_s"]').inner_text()
    assert re.fullmatch(r"0\.410 s\s*so far\s*0\.400\u20130\.420 s", wall), wall
    assert TIMES not in threads.locator('[data-f="vs_sequential"]').inner_text()
    assert "busy host" in threads.inner_text()
    assert page.is_visible("[data-busy-warning]")
    assert "repeat the comparison" in page.inner_text("[data-busy-warning]")
    page.wait_for_selector("#compare-chart .main-svg")
    sequential = page.locator('tbody tr[data-row="sequential"]')
    assert sequential.locator('[data-f="vs_sequential"]').inner_text().strip() == "1.00" + TIMES
    page.screenshot(path=str(ARTIFACTS / "compare-repeat-live.png"), full_page=True)

    served["record"] = final
    page.wait_for_selector('tbody tr[data-row="threads"][data-provisional="false"]')
    verdict = threads.locator('[data-f="vs_sequential"]').inner_text()
    assert re.fullmatch(r"2\.00" + TIMES, verdict.strip()), verdict
    assert "3/3 runs" in threads.inner_text()
    page.wait_for_function(
        "() => document.querySelectorAll('#compare-chart path.yerror').length === 2"
    )
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "compare-repeat.png"), full_page=True)


def test_run_page_shows_partial_figures_workers_and_busy_hosts(app, page, web_server, redis_client):
    """The page of a queued run, fed its later records: queued (no bars), then going (with the
    workers that served it and a busy host), then done."""
    urls = [f"http://a.example/{i}" for i in range(5)]
    oks = [TaskState.OK] * 5
    queued = write_run(redis_client, urls, oks, strategy=Strategy.QUEUE, ended=0)
    going = write_run(redis_client, urls, oks, strategy=Strategy.QUEUE, ended=2, running=1)
    done = write_run(redis_client, urls, oks, strategy=Strategy.QUEUE)

    def record(run_id: str) -> dict:
        real = requests.get(f"{web_server.url}/api/runs/{run_id}?since=0", timeout=10).json()
        workers = {"served": 3, "live": 2, "peak": 4, "changes": [[0.0, 2], [3.1, 4]]}
        shaped = run_shape(real, workers=workers, others_cores={"host-a": 0.62, "host-b": 0.1})
        return shaped | {"id": queued}

    served = {"record": record(queued) | {"host_load": None}, "source": queued}
    served["record"]["summary"]["workers"] = None
    page.route(re.compile(rf".*/runs/{queued}$"), html(lambda: render_run(app, served["record"])))

    def same_read_of_the_source(route) -> None:
        """The timeline and table of the run whose record is being served."""
        url = route.request.url.replace(f"/api/runs/{queued}/", f"/api/runs/{served['source']}/")
        route.fulfill(json=requests.get(url, timeout=10).json())

    page.route(re.compile(rf".*/api/runs/{queued}/(timeline|tasks)\?.*"), same_read_of_the_source)
    page.goto(f"/runs/{queued}")
    page.wait_for_selector("#timeline [data-chart-empty]")
    assert "No task has started yet" in page.inner_text("#timeline")
    assert page.locator("#timeline .main-svg").count() == 0
    assert not page.is_visible("[data-host-load]")

    served["record"], served["source"] = record(going), going
    page.wait_for_selector("#timeline .main-svg")
    page.wait_for_selector('[data-summary][data-provisional="true"]')
    assert page.locator("[data-so-far]:visible").count() >= 4
    assert page.locator(".stat-accent").count() == 0
    assert not page.is_visible('[data-meter="efficiency"]')
    assert "served by 3 workers" in page.inner_text("[data-workers-note]")
    assert "2 workers, 4 from +3.1 s" in page.inner_text("[data-workers-note]")
    warning = page.inner_text("[data-host-load]")
    assert re.search(r"host-a 0\.62 cores.*host-b 0\.10 cores", warning), warning
    assert "the figures may be distorted; repeat the run" in warning
    page.screenshot(path=str(ARTIFACTS / "run-provisional.png"), full_page=True)

    served["record"], served["source"] = record(done), done
    page.wait_for_selector('[data-summary][data-provisional="false"]')
    assert page.locator("[data-so-far]:visible").count() == 0
    assert page.locator(".stat-accent").count() == 1
    assert page.is_visible('[data-meter="efficiency"]')
    assert_no_csp_violation(page)


def test_workers_page_lists_a_killed_worker_as_gone(page, dead_busy_worker):
    page.goto("/workers")
    page.wait_for_selector("#throughput[data-points]")  # drawn by workers.js, from the API
    row = page.locator(f'[data-worker-rows] tr:has(td[title="{dead_busy_worker.name}"])')
    assert row.count() == 0  # not a row of the live workers, let alone a busy one
    assert dead_busy_worker.name[:8] in page.inner_text("[data-gone]")
    assert page.is_visible("[data-gone]")
    assert_no_csp_violation(page)
    page.screenshot(path=str(ARTIFACTS / "workers-gone.png"), full_page=True)
