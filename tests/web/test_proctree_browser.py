"""The Workers page's process tree in a real headless Chromium, on a stack of the test's own
(Redis, one supervisor of one worker, `fanout web`): the session's workers would add their own
trees and pool children. A `processes` run's children appear under the worker that forks them,
stay idle after the run (the pool outlives its job by design), and go when a job needs another
pool size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis as redis_lib
import requests

from tests.conftest import ARTIFACTS
from tests.support import Service, alive_workers, start_redis, start_web, start_worker, wait_until
from tests.web.conftest import DONE_TIMEOUT_MS, assert_no_csp_violation, watched_page
from tests.web.schema import assert_matches

pytestmark = pytest.mark.browser


@pytest.fixture
def own_stack(stack_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    """(web, supervisor) on a Redis of the test's own."""
    redis = start_redis(tmp_path)
    env = dict(stack_env, REDIS_URL=redis.url)
    supervisor = start_worker(tmp_path, env, name="tree-host")
    web = None
    try:
        client = redis_lib.Redis.from_url(redis.url)
        wait_until(lambda: len(alive_workers(client)) == 1, 30, "1 live worker")
        web = start_web(tmp_path, env, processes=1, name="tree-web")
        yield web, supervisor
    finally:
        if web is not None:
            web.stop()
        supervisor.stop()
        redis.stop()


@pytest.fixture
def tree_page(browser, own_stack) -> Iterator[object]:
    """A watched page on the own stack's web server (as tests/web/conftest.py's `page`)."""
    web, _ = own_stack
    yield from watched_page(browser, web.url)


def children_shown(page, worker_pid: int, state: str) -> set[int]:
    rows = page.locator(f'[data-proctree] tr[data-role="child"][data-ppid="{worker_pid}"]')
    return {
        int(pid)
        for pid, shown in zip(
            rows.evaluate_all("rs => rs.map(r => r.dataset.pid)"),
            rows.evaluate_all("rs => rs.map(r => r.dataset.state)"),
            strict=True,
        )
        if shown == state
    }


def submit(web: Service, urls: list[str], concurrency: int) -> str:
    body = {"urls": urls, "strategy": "processes", "concurrency": concurrency}
    response = requests.post(f"{web.url}/api/runs", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def wait_done(web: Service, run_id: str) -> None:
    def done():
        return requests.get(f"{web.url}/api/runs/{run_id}?tasks=0", timeout=10).json()["state"]

    wait_until(lambda: done() == "done", DONE_TIMEOUT_MS / 1000, f"run {run_id} done", 0.3)


def test_a_processes_runs_children_appear_under_their_worker_stay_idle_then_go(
    tree_page, own_stack, origin_url
):
    page = tree_page
    web, supervisor = own_stack
    page.goto("/workers")
    page.wait_for_selector(
        f'[data-proctree] tr[data-role="supervisor"][data-pid="{supervisor.pid}"]'
    )
    worker = page.locator(f'[data-proctree] tr[data-role="worker"][data-ppid="{supervisor.pid}"]')
    worker_pid = int(worker.get_attribute("data-pid"))
    assert [c.pid for c in psutil.Process(supervisor.pid).children()] == [worker_pid]
    assert children_shown(page, worker_pid, "busy") == set()

    urls = [f"{origin_url}/delay/2500?n={i}" for i in range(8)]
    run_id = submit(web, urls, 4)
    page.wait_for_function(
        """pid => document.querySelectorAll(
            `[data-proctree] tr[data-role="child"][data-state="busy"][data-ppid="${pid}"]`
        ).length >= 4""",
        arg=worker_pid,
        timeout=DONE_TIMEOUT_MS,
    )
    busy = children_shown(page, worker_pid, "busy")
    assert len(busy) >= 4
    assert busy <= {c.pid for c in psutil.Process(worker_pid).children()}  # real, that worker's
    shown = page.locator(f'[data-proctree] tr[data-pid="{min(busy)}"]')
    assert "\\_ pool child" in shown.inner_text()
    assert int(shown.locator("td").nth(5).inner_text()) >= 1  # threads
    assert "MiB" in shown.locator("td").nth(6).inner_text()  # resident memory
    page.screenshot(path=str(ARTIFACTS / "workers-tree.png"), full_page=True)

    wait_done(web, run_id)
    # The pool outlives its job (worker.pools keeps it while its size fits the next one): the
    # same children, now idle, and the page says why.
    page.wait_for_function(
        """pids => pids.every(pid => document.querySelector(
            `[data-proctree] tr[data-pid="${pid}"]`)?.dataset.state === "idle")""",
        arg=sorted(busy),
        timeout=15_000,
    )
    assert children_shown(page, worker_pid, "idle") == busy
    assert page.locator("[data-proctree-kept]").is_visible()

    # A job that needs a pool of 2 replaces the pool of 4: its children go.
    wait_done(web, submit(web, [f"{origin_url}/delay/100?n={i}" for i in range(2)], 2))
    page.wait_for_function(
        """pids => pids.every(pid => !document.querySelector(
            `[data-proctree] tr[data-pid="${pid}"]`))""",
        arg=sorted(busy),
        timeout=15_000,
    )
    assert not any(psutil.pid_exists(pid) for pid in busy)
    page.wait_for_function(  # the new pool's two, idle once the next snapshot says so
        """pid => document.querySelectorAll(
            `[data-proctree] tr[data-role="child"][data-state="idle"][data-ppid="${pid}"]`
        ).length === 2""",
        arg=worker_pid,
        timeout=15_000,
    )
    assert_no_csp_violation(page)


def test_the_tree_api_answers_each_hosts_snapshot_as_documented(own_stack, settings):
    web, supervisor = own_stack

    def trees():
        body = requests.get(f"{web.url}/api/workers/tree", timeout=10).json()
        return body if body["hosts"] else None

    body = wait_until(trees, 15, "a tree")
    assert_matches(settings, "ProcessTree", body)
    (tree,) = body["hosts"]
    top, worker, *_ = tree["processes"]
    assert (top["pid"], top["role"], top["depth"]) == (supervisor.pid, "supervisor", 0)
    assert worker["ppid"] == supervisor.pid and worker["role"] == "worker"
    assert tree["at"] <= body["now"] + 1
