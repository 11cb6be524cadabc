"""End to end: real redis-server, real worker processes, the origin, every strategy x workload."""

from __future__ import annotations

import itertools
import uuid

import pytest

from contract.records import RunSpec
from contract.states import Strategy, TaskState, Workload
from producer.connection import fanout_queue
from producer.reader import load_comparison
from producer.submit import submit_comparison, submit_run
from producer.wait import wait_for_run

pytestmark = pytest.mark.usefixtures("workers")

RECORD_FIELDS = {
    "url", "state", "status_code", "bytes", "error", "started_at", "finished_at",
    "duration_s", "worker", "host", "pid", "thread", "attempt",
}  # fmt: skip


def run(redis_client, settings, urls, strategy, concurrency=4, workload=Workload.FETCH):
    spec = RunSpec(tuple(urls), Strategy(strategy), concurrency, Workload(workload))
    run_id = submit_run(redis_client, fanout_queue(redis_client), spec, settings)
    return wait_for_run(redis_client, run_id, timeout_s=120)


def barrier_urls(origin_url, n_at_once, n_tasks):
    """URLs that each wait on the origin until `n_at_once` of them are in flight, in generations
    of `n_at_once`: every task ends `ok` only if the strategy really had that many at once (one
    that did not gets the origin's 504 well inside the stack's 3 s read timeout)."""
    name = uuid.uuid4().hex
    return [
        f"{origin_url}/barrier/{name}/{n_at_once}?timeout_ms=2500&n={i}" for i in range(n_tasks)
    ]


def assert_all_ok(record):
    states = [task["state"] for task in record["tasks"]]
    assert states == ["ok"] * len(states), [(t["status_code"], t["error"]) for t in record["tasks"]]


def assert_every_task_ended_once(record):
    indexes = [task["index"] for task in record["tasks"]]
    assert sorted(indexes) == list(range(record["total"]))
    assert record["done"] == record["total"]
    assert record["running"] == []
    assert record["duplicates"] == 0
    for task in record["tasks"]:
        assert TaskState(task["state"]).is_terminal


@pytest.mark.parametrize("workload", ["fetch", "cpu"])
@pytest.mark.parametrize("strategy", [s.value for s in Strategy])
def test_every_strategy_and_workload_fetches_every_url(
    redis_client, settings, origin_url, strategy, workload
):
    delay = 150 if workload == "fetch" else 0
    urls = [f"{origin_url}/delay/{delay}?bytes={1000 + i}" for i in range(8)]
    record = run(redis_client, settings, urls, strategy, concurrency=4, workload=workload)

    assert record["state"] == "done"
    assert_every_task_ended_once(record)
    for i, task in enumerate(record["tasks"]):
        assert task.keys() >= RECORD_FIELDS
        assert task["state"] == "ok", task
        assert task["status_code"] == 200
        assert task["bytes"] == 1000 + i
        assert task["finished_at"] >= task["started_at"]
        assert task["duration_s"] == pytest.approx(task["finished_at"] - task["started_at"])
        assert task["attempt"] == 1
        if workload == "cpu":
            assert task["cpu_s"] > 0
    summary = record["summary"]
    for key in ("wall_s", "latency_s", "sum_s", "ideal_s", "efficiency", "speedup"):
        assert summary[key] is not None and summary[key] > 0, key
    assert 1 <= summary["peak_concurrency"] <= summary["slots"]
    assert summary["ideal_s"] <= summary["wall_s"] * 1.0001
    assert summary["counts"]["ok"] == 8


def test_threads_reach_their_concurrency(redis_client, settings, origin_url):
    urls = barrier_urls(origin_url, 10, 20)  # two generations of 10 at once
    record = run(redis_client, settings, urls, "threads", concurrency=10)
    assert_all_ok(record)  # the barrier opened: 10 tasks were in flight at once
    assert record["summary"]["peak_concurrency"] == 10
    assert record["summary"]["slots"] == 10
    threads = {task["thread"] for task in record["tasks"]}
    assert len(threads) == 10
    assert len({task["pid"] for task in record["tasks"]}) == 1


def test_processes_run_in_distinct_child_processes(redis_client, settings, origin_url):
    urls = barrier_urls(origin_url, 4, 8)
    record = run(redis_client, settings, urls, "processes", concurrency=4)
    assert_all_ok(record)  # 4 at once, so in 4 children of a pool of at most 4
    assert len({task["pid"] for task in record["tasks"]}) == 4
    assert record["summary"]["peak_concurrency"] == 4


def test_asyncio_draws_one_lane_per_slot(redis_client, settings, origin_url):
    urls = barrier_urls(origin_url, 6, 12)
    record = run(redis_client, settings, urls, "asyncio", concurrency=6)
    assert_all_ok(record)
    lanes = {task["thread"] for task in record["tasks"]}
    assert len(lanes) == 6 and all(":slot" in lane for lane in lanes)
    assert record["summary"]["peak_concurrency"] == 6


def test_queue_spreads_jobs_over_both_workers(redis_client, settings, origin_url, workers):
    urls = [f"{origin_url}/delay/200?n={i}" for i in range(16)]
    record = run(redis_client, settings, urls, "queue", concurrency=1)
    assert len({task["worker"] for task in record["tasks"]}) == 2
    assert record["workers_at_start"] >= 2
    assert record["summary"]["slots"] >= 2


def test_failures_end_in_their_own_terminal_states(redis_client, settings, origin_url):
    urls = [
        f"{origin_url}/delay/50",
        f"{origin_url}/status/404",
        f"{origin_url}/hang",
        f"{origin_url}/redirect-loop",
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://fanout-no-such-host.invalid/",
    ]
    record = run(redis_client, settings, urls, "threads", concurrency=7)
    assert_every_task_ended_once(record)
    states = [task["state"] for task in record["tasks"]]
    assert states == ["ok", "http_error", "timeout", "error", "refused", "refused", "error"]
    assert record["tasks"][1]["status_code"] == 404
    assert "redirect" in record["tasks"][3]["error"].lower()
    for refused in record["tasks"][4:6]:
        assert refused["error"] and refused["bytes"] == 0


def test_comparison_runs_strategies_one_after_another(redis_client, settings, origin_url):
    spec = RunSpec(tuple(f"{origin_url}/delay/100?n={i}" for i in range(6)), Strategy.THREADS, 3)
    comparison_id, run_ids = submit_comparison(
        redis_client, fanout_queue(redis_client), spec, settings
    )
    for run_id in run_ids:
        wait_for_run(redis_client, run_id, timeout_s=120)
    comparison = load_comparison(redis_client, comparison_id)
    assert comparison["state"] == "done"
    runs = comparison["runs"]
    assert [r["spec"]["strategy"] for r in runs] == [s.value for s in Strategy]
    for earlier, later in itertools.pairwise(runs):
        first_start = min(t["started_at"] for t in later["tasks"])
        last_end = max(t["finished_at"] for t in earlier["tasks"])
        assert first_start >= last_end, (earlier["spec"]["strategy"], later["spec"]["strategy"])
