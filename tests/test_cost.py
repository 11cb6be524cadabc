"""What a run cost the operating system, per host: processes cost their children's memory, threads
a few MB of one process, asyncio less. Measured by a real worker on the demo batch; no
wall-clock threshold, only counts and orderings of the same worker's runs.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import redis as redis_lib

from contract import cost, keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.presets import local_demo
from producer.reader import load_run
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.support import alive_workers, start_redis, start_worker, wait_until
from worker import cost_book, pools
from worker.cost import JobMeter

CONCURRENCY = 16


@pytest.fixture
def fresh_worker(tmp_path, stack_env, request):
    """One supervised worker on a Redis of the test's own: no other run warmed its pools. A
    test parametrized indirectly names the worker class (`simple` by default)."""
    worker_class = getattr(request, "param", "simple")
    redis_service = start_redis(tmp_path)
    env = dict(stack_env, REDIS_URL=redis_service.url)
    client = redis_lib.Redis.from_url(redis_service.url)
    worker = start_worker(tmp_path, env, name="cost", extra_args=("--class", worker_class))
    wait_until(lambda: alive_workers(client), 30, "the worker")
    yield env, client
    worker.stop(timeout_s=10)
    assert "Traceback" not in worker.log()
    redis_service.stop()


def wait_for_cost(client: redis_lib.Redis, run_id: str) -> dict:
    """The run's record once its cost covers every job of it."""

    def complete() -> dict | None:
        record = load_run(client, run_id)
        cost_ = record["cost"]
        return record if cost_ and cost_["total"]["jobs"] >= record["jobs"] else None

    wait_until(lambda: complete() is not None, 30, "the run's cost")
    record = complete()
    assert record is not None
    return record


def test_each_strategy_costs_what_the_tutorial_says(fresh_worker, origin_url):
    env, client = fresh_worker
    settings = Settings.from_env(env)
    costs = {}
    for strategy in (Strategy.ASYNCIO, Strategy.THREADS, Strategy.PROCESSES):
        spec = RunSpec(local_demo(origin_url), strategy, CONCURRENCY)
        run_id = submit_run(client, fanout_queue(client), spec, settings)
        record = wait_for_run(client, run_id, timeout_s=120)
        assert {task["state"] for task in record["tasks"]} == {"ok"}
        # The job writes its cost as it returns: a moment after its last records, which the
        # recorder's flusher may write first. The run is final only once its cost is in.
        record = wait_for_cost(client, run_id)
        assert list(record["cost"]["hosts"]) == list({t["host"] for t in record["tasks"]})
        costs[strategy] = record["cost"]["total"]
    asyncio, threads, processes = (
        costs[Strategy.ASYNCIO],
        costs[Strategy.THREADS],
        costs[Strategy.PROCESSES],
    )
    summary = {s.value: c for s, c in costs.items()}
    # Processes: the worker and its 16 forked children, each with memory of its own.
    assert processes["processes"] == 1 + CONCURRENCY, summary
    assert processes["processes_started"] == CONCURRENCY, summary
    assert asyncio["processes"] == threads["processes"] == 1, summary
    # Threads: the worker's pool grew a thread per lane; asyncio ran in the job's own thread.
    assert threads["threads_started"] >= CONCURRENCY, summary
    assert asyncio["threads_started"] == 0, summary
    # Memory: 16 children cost more than 16 threads, which cost more than one event loop.
    assert processes["memory_added_bytes"] > threads["memory_added_bytes"], summary
    assert processes["memory_added_bytes"] > asyncio["memory_added_bytes"], summary
    assert processes["memory_added_bytes"] > CONCURRENCY * 1024 * 1024, summary
    for figures in costs.values():
        assert figures["jobs"] == 1 and figures["workers"] == 1
        assert figures["cpu_user_s"] + figures["cpu_system_s"] > 0
        assert figures["ctx_switches_voluntary"] > 0
        assert figures["memory_peak_bytes"] >= figures["memory_idle_bytes"] > 0


@pytest.mark.parametrize("fresh_worker", ["simple", "fork"], indirect=True)
def test_every_job_of_a_queue_run_is_in_its_cost_once_the_run_is_final(fresh_worker, origin_url):
    """One-URL jobs: a fork worker's work-horses each add theirs to the worker's field; a
    simple worker's short jobs are written by its sampler, before the run is final."""
    env, client = fresh_worker
    urls = tuple(f"{origin_url}/delay/0?n={i}" for i in range(6))
    spec = RunSpec(urls, Strategy.QUEUE, 1)
    run_id = submit_run(client, fanout_queue(client), spec, Settings.from_env(env))
    wait_for_run(client, run_id, timeout_s=60)

    def record() -> dict:
        return load_run(client, run_id, include_tasks=False)

    wait_until(lambda: not record()["provisional"], 30, "the run final")
    final = record()
    figures = final["cost"]["total"]
    assert final["jobs"] == len(urls)
    assert (figures["workers"], figures["jobs"]) == (1, len(urls)), figures
    assert figures["processes"] == 1 and figures["processes_started"] == 0, figures


def test_a_host_sums_its_workers_and_the_run_its_hosts():
    def worker(host: str, **figures: float) -> str:
        return cost.WorkerCost(host=host, jobs=1, **figures).to_json()  # type: ignore[arg-type]

    summed = cost.summarize(
        {
            "w1": worker("a", memory_added_bytes=10, processes=1, cpu_user_s=0.5),
            "w2": worker("a", memory_added_bytes=5, processes=3, cpu_user_s=0.25),
            "w3": worker("b", memory_added_bytes=1, processes=1),
            "w4": "not json",
        }
    )
    assert summed is not None
    assert summed["hosts"]["a"]["memory_added_bytes"] == 15
    assert summed["hosts"]["a"]["processes"] == 4
    assert summed["hosts"]["a"]["workers"] == 2
    assert summed["hosts"]["a"]["cpu_user_s"] == 0.75
    assert summed["total"]["memory_added_bytes"] == 16
    assert summed["total"]["workers"] == 3
    assert cost.summarize({}) is None


def test_a_workers_jobs_merge_into_one_figure_per_run():
    one = cost.WorkerCost("h", 1, 100, 150, 50, 1, 0, 5, 2, 10, 1, 0.1, 0.0, 2)
    two = cost.WorkerCost("h", 1, 120, 400, 280, 17, 16, 9, 4, 30, 3, 0.2, 0.1, 3)
    merged = one.merged(two)
    assert merged.jobs == 2
    assert merged.memory_idle_bytes == 100  # the first job's start: the idle worker
    assert (merged.memory_peak_bytes, merged.memory_added_bytes) == (400, 280)
    assert (merged.processes, merged.processes_started) == (17, 16)
    assert (merged.threads, merged.threads_started) == (9, 6)
    assert (merged.ctx_switches_voluntary, merged.ctx_switches_involuntary) == (40, 4)
    assert cost.WorkerCost.from_json(merged.to_json()) == merged


def _nothing() -> None:
    """The pool children's initializer: they need none here."""


def _hold_ballast(megabytes: int, seconds: float) -> int:
    ballast = bytearray(megabytes * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident, and the child's alone
    time.sleep(seconds)
    return os.getpid()


def test_a_meter_counts_the_pool_child_and_its_own_memory():
    meter = JobMeter("h", count_children=True)
    try:
        pool = pools.process_pool(1, 1, _nothing, ())
        child = pool.submit(_hold_ballast, 32, 1.5)
        time.sleep(1)
        meter.sample()
        child_pid = child.result()
        figures = meter.finish()
    finally:
        pools.shutdown()
    assert child_pid != os.getpid()
    assert (figures.processes, figures.processes_started) == (2, 1)
    assert figures.memory_added_bytes >= 32 * 1024 * 1024
    assert figures.threads >= 2


def test_the_cost_key_is_one_of_the_runs_keys():
    assert keys.cost_key("0123456789ab") in keys.run_keys("0123456789ab")
    assert json.loads(cost.WorkerCost("h").to_json())["host"] == "h"


def test_a_short_jobs_cost_waits_for_the_samplers_tick_and_a_long_ones_does_not(tmp_path):
    service = start_redis(tmp_path)
    try:
        client = redis_lib.Redis.from_url(service.url)
        run_id = "00000000c057"
        job = cost.WorkerCost("h", jobs=1, processes=1)
        cost_book.record(client, run_id, job, 60, defer=True)
        assert client.hgetall(keys.cost_key(run_id)) == {}  # not yet: no round trip paid
        cost_book.write_pending()
        (written,) = client.hvals(keys.cost_key(run_id))
        assert cost.WorkerCost.from_json(written).jobs == 1
        cost_book.record(client, run_id, job, 60)  # a long job: written before it returns
        (written,) = client.hvals(keys.cost_key(run_id))
        assert cost.WorkerCost.from_json(written).jobs == 2
        assert 0 < client.ttl(keys.cost_key(run_id)) <= 60
    finally:
        service.stop()
