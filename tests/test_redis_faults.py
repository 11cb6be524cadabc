"""Redis dies mid-run and comes back from its AOF: workers recover by themselves, none is lost."""

from __future__ import annotations

import signal
import time

import pytest
import redis as redis_lib

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import run_state, wait_for_run
from tests.checker import check_run
from tests.support import alive_workers, start_redis, start_worker, wait_until


@pytest.mark.parametrize(
    "strategy",  # `make test` runs the queued strategy; the others are in `make test-slow`
    [
        "queue",
        pytest.param("threads", marks=pytest.mark.slow),
        pytest.param("sequential", marks=pytest.mark.slow),
    ],
)
def test_redis_killed_and_restarted_from_aof_loses_nothing(
    tmp_path, stack_env, origin_url, strategy
):
    redis_service = start_redis(tmp_path)
    port = int(redis_service.url.rsplit(":", 1)[1].split("/")[0])
    env = dict(stack_env, REDIS_URL=redis_service.url)
    client = redis_lib.Redis.from_url(redis_service.url)
    workers = [start_worker(tmp_path, env, name=f"w{n}") for n in (1, 2)]
    try:
        wait_until(lambda: len(alive_workers(client)) == 2, 30, "2 workers")
        settings = Settings.from_env(env)
        concurrency = 4 if strategy == "threads" else 1
        urls = tuple(f"{origin_url}/delay/300?n={i}" for i in range(24))
        spec = RunSpec(urls, Strategy(strategy), concurrency)
        run_id = submit_run(client, fanout_queue(client), spec, settings)
        wait_until(lambda: run_state(client, run_id)[1] >= 3, 30, "3 tasks done")

        redis_service.signal_group(signal.SIGKILL)
        redis_service.proc.wait()
        time.sleep(2)  # tasks end while Redis is away
        redis_service = start_redis(tmp_path, port=port)  # same dir: replays the AOF

        wait_for_run(client, run_id, timeout_s=90)
        counts = check_run(client, run_id)
        assert counts.get("ok") == len(urls), counts
        print(f"{strategy}: {counts}")
        wait_until(lambda: len(alive_workers(client)) >= 2, 30, "workers back")
    finally:
        for worker in workers:
            worker.stop(timeout_s=5)
        redis_service.stop()


FAULT_STRATEGIES = ["sequential", "threads", "processes", "asyncio", "queue", "hybrid"]


@pytest.mark.slow
@pytest.mark.parametrize("outage_s", [3, 6])
@pytest.mark.parametrize("strategy", FAULT_STRATEGIES)
def test_a_redis_outage_mid_run_is_never_a_failed_fetch(
    tmp_path, stack_env, origin_url, strategy, outage_s
):
    """Redis is fanout's own trouble, never the target's: tasks that end while it is away are
    recorded `ok` once it is back (their records retried, or the task run again), whatever the
    strategy, including the pool children that write their own start markers."""
    redis_service = start_redis(tmp_path)
    port = int(redis_service.url.rsplit(":", 1)[1].split("/")[0])
    env = dict(stack_env, REDIS_URL=redis_service.url)
    client = redis_lib.Redis.from_url(redis_service.url)
    workers = [start_worker(tmp_path, env, name=f"w{n}") for n in (1, 2)]
    try:
        wait_until(lambda: len(alive_workers(client)) == 2, 30, "2 workers")
        settings = Settings.from_env(env)
        urls = tuple(f"{origin_url}/delay/1000?n={i}" for i in range(30))
        run_id = submit_run(
            client, fanout_queue(client), RunSpec(urls, Strategy(strategy), 4), settings
        )
        wait_until(lambda: run_state(client, run_id)[1] >= 4, 60, "4 tasks done")

        redis_service.signal_group(signal.SIGKILL)
        redis_service.proc.wait()
        time.sleep(outage_s)  # tasks end, and start, while Redis is away
        redis_service = start_redis(tmp_path, port=port)  # same dir: replays the AOF

        wait_for_run(client, run_id, timeout_s=120)
        counts = check_run(client, run_id)
        print(f"[figure] redis down {outage_s} s, {strategy}: {counts}")
        assert counts.get("ok") == len(urls), counts
    finally:
        for worker in workers:
            worker.stop(timeout_s=5)
        redis_service.stop()
