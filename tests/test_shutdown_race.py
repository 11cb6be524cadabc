"""A stop signal at any moment of a worker's loop strands no job (rq/rq#2236).

RQ moves a job from the queue to `<queue>:intermediate` (BLMOVE) and only later registers it as
started. Stock RQ raises StopRequested from the signal handler whenever the worker is not BUSY,
so a SIGTERM that lands between the two leaves the job in neither place: RQ's own maintenance
fails it 10+ minutes later, and the run waits for it. fanout's workers defer the stop to a safe
point instead, and the reconciler puts back any job stranded there anyway (a SIGKILL in the same
window).
"""

from __future__ import annotations

import random
import signal
import time

import pytest
from rq import Worker
from rq.registry import StartedJobRegistry

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import run_state, wait_for_run
from tests.checker import check_run
from tests.support import alive_workers, start_worker, wait_until
from worker.reconcile import STRANDED_AFTER_S, requeue_stranded


def _submit(client, env, urls):
    settings = Settings.from_env(env)
    return submit_run(client, fanout_queue(client), RunSpec(urls, Strategy.QUEUE, 1), settings)


def _finish(tmp_path, env, client, run_id) -> dict:
    finisher = start_worker(tmp_path, env, name="finisher")
    try:
        wait_until(lambda: alive_workers(client), 30, "the finishing worker")
        # Far below the 11 minutes RQ's own maintenance would take to fail a stranded job.
        return wait_for_run(client, run_id, timeout_s=60)
    finally:
        finisher.stop(timeout_s=10)


def _assert_ran_once_each(client, record) -> None:
    assert check_run(client, record["id"])["duplicates"] == 0
    assert {task["state"] for task in record["tasks"]} == {"ok"}
    assert {task["attempt"] for task in record["tasks"]} == {1}


@pytest.mark.slow  # 30 workers started and signalled: ~50 s
def test_sigterm_at_any_moment_strands_no_job(
    tmp_path, stack_env, origin_url, private_redis_service, private_redis
):
    """Stock RQ stranded a job on 4 of 40 SIGTERMs here; 30 rounds miss that at 3%."""
    url, client = private_redis_service.url, private_redis
    env = dict(stack_env, REDIS_URL=url)
    run_id = _submit(client, env, tuple(f"{origin_url}/delay/0?n={i}" for i in range(3000)))
    rng = random.Random(20261125)
    intermediate = fanout_queue(client).intermediate_queue_key

    for round_ in range(30):
        worker = start_worker(tmp_path, env, name=f"w{round_}", extra_args=("--no-supervise",))
        target = run_state(client, run_id)[1] + 20
        wait_until(lambda t=target: run_state(client, run_id)[1] >= t, 30, "20 more tasks")
        time.sleep(rng.uniform(0, 0.05))
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(timeout=15) == 0, worker.log()
        # No other worker runs, so nothing could have put a stranded job back yet.
        assert client.llen(intermediate) == 0, f"round {round_}: a job was stranded"
        assert "Traceback" not in worker.log()

    _assert_ran_once_each(client, _finish(tmp_path, env, client, run_id))


def test_idle_worker_stops_within_a_dequeue_wait(
    tmp_path, stack_env, private_redis_service, private_redis
):
    url, client = private_redis_service.url, private_redis
    worker = start_worker(
        tmp_path, dict(stack_env, REDIS_URL=url), name="idle", extra_args=("--no-supervise",)
    )
    wait_until(lambda: alive_workers(client), 30, "the worker")
    # The heartbeat starts before RQ installs its signal handlers; RQ marks the worker idle only
    # at its first dequeue, after them. A SIGTERM before that would find Python's default action
    # (on a loaded machine the gap was wide enough to hit).
    wait_until(
        lambda: any(
            client.hget(Worker.redis_worker_namespace_prefix + name, "state") == b"idle"
            for name in alive_workers(client)
        ),
        30,
        "the worker's first dequeue",
    )
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=5) == 0, worker.log()  # stock RQ: at once; fanout: <= 1 s
    assert "stopping on request" in worker.log()


def test_job_stranded_by_a_killed_worker_is_queued_again(
    tmp_path, stack_env, origin_url, private_redis_service, private_redis
):
    url, client = private_redis_service.url, private_redis
    env = dict(stack_env, REDIS_URL=url)
    run_id = _submit(client, env, tuple(f"{origin_url}/delay/0?n={i}" for i in range(5)))
    # What a worker SIGKILLed between BLMOVE and registering the job leaves behind.
    queue = fanout_queue(client)
    assert client.lmove(queue.key, queue.intermediate_queue_key)

    record = _finish(tmp_path, env, client, run_id)

    _assert_ran_once_each(client, record)
    assert client.llen(queue.intermediate_queue_key) == 0


def test_requeue_waits_for_a_second_sighting_and_skips_started_jobs(private_redis):
    client = private_redis
    queue = fanout_queue(client)
    started = StartedJobRegistry(queue=queue).key
    stranded, taken = keys.job_id("r", 0), keys.job_id("r", 1)
    client.rpush(queue.intermediate_queue_key, stranded, taken, "not-fanout")
    client.zadd(started, {taken: time.time() + 60})  # a worker started it meanwhile

    assert requeue_stranded(client, queue, now=1000.0) == []  # first sighting
    assert requeue_stranded(client, queue, now=1000.0 + STRANDED_AFTER_S - 1) == []
    assert requeue_stranded(client, queue, now=1000.0 + STRANDED_AFTER_S) == [stranded]

    assert client.lrange(queue.key, 0, -1) == [stranded.encode()]
    assert client.lrange(queue.intermediate_queue_key, 0, -1) == [taken.encode(), b"not-fanout"]
