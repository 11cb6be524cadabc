"""Workers die mid-run: every task still ends in exactly one terminal state, none counted twice.

Each test runs on its own redis-server and its own workers, so killing them disturbs nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest
from rq import Worker
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run
from tests.support import alive_workers, wait_until


@pytest.fixture
def private_stack(fleet):
    """`fleet`, as (env, client, add_worker(name, *extra_args))."""
    fleet.stop_timeout_s = 5

    def add_worker(name: str, *extra_args: str):
        return fleet.start(name, extra_args=extra_args)

    return fleet.env, fleet.client, add_worker


def submit(client, env, urls, strategy, concurrency=1):
    settings = Settings.from_env(env)
    spec = RunSpec(tuple(urls), Strategy(strategy), concurrency)
    return submit_run(client, fanout_queue(client), spec, settings)


def started_job(client) -> Job:
    """The first job a worker has taken, once RQ has written which worker took it: the job is in
    the started registry a moment before its hash names the worker (a loaded machine showed it)."""
    registry = StartedJobRegistry(queue=fanout_queue(client))

    def taken() -> Job | None:
        for job_id in registry.get_job_ids(cleanup=False):
            job = Job.fetch(job_id, connection=client, serializer=JSONSerializer)
            if job.worker_name:
                return job
        return None

    return wait_until(taken, 30, "a started job naming its worker")


def worker_pid(client, worker_name: str) -> int:
    return int(client.hget(Worker.redis_worker_namespace_prefix + worker_name, "pid"))


def assert_exactly_once(client, record):
    counts = check_run(client, record["id"])
    assert counts["duplicates"] == 0
    assert record["running"] == []


def wait_for_some_tasks(client, run_id, count):
    from producer.wait import run_state

    wait_until(lambda: run_state(client, run_id)[1] >= count, 30, f"{count} tasks done")


KILLS = [
    (strategy, "worker process") for strategy in ("sequential", "threads", "processes", "asyncio")
] + [
    ("queue", "worker process"),
    ("hybrid", "worker process"),
    ("sequential", "whole process group"),
    ("sequential", "supervisor alone"),
]
#: `make test` kills one worker mid-job and one supervisor; every other kind (~13 s each) is in
#: `make test-slow`.
FAST_KILLS = {("threads", "worker process"), ("sequential", "supervisor alone")}
KILLS = [
    pytest.param(*kill, marks=() if kill in FAST_KILLS else pytest.mark.slow) for kill in KILLS
]


@pytest.mark.parametrize(("strategy", "kill"), KILLS)
def test_killed_worker_leaves_no_task_pending(private_stack, origin_url, strategy, kill):
    env, client, add_worker = private_stack
    services = [add_worker("a"), add_worker("b")]
    wait_until(lambda: len(alive_workers(client)) == 2, 30, "2 workers")
    concurrency = 1 if strategy == "sequential" else 2
    urls = [f"{origin_url}/delay/500?n={i}" for i in range(12)]
    run_id = submit(client, env, urls, strategy, concurrency)
    job = started_job(client)
    wait_for_some_tasks(client, run_id, 2)
    victim = worker_pid(client, job.worker_name)
    if kill == "worker process":
        os.kill(victim, signal.SIGKILL)
    elif kill == "supervisor alone":
        os.kill(psutil.Process(victim).ppid(), signal.SIGKILL)  # its worker runs on, orphaned
    else:
        group = os.getpgid(victim)
        next(s for s in services if s.proc.pid == group).signal_group(signal.SIGKILL)
    killed_at = time.monotonic()

    record = wait_for_run(client, run_id, timeout_s=90)
    assert_exactly_once(client, record)
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    attempts = [t["attempt"] for t in record["tasks"]]
    if kill == "supervisor alone":
        assert set(attempts) == {1}  # nothing was lost: the worker finished its job
    else:
        assert 2 in attempts  # the unfinished tasks re-ran once elsewhere
    print(f"{strategy}/{kill}: {attempts.count(2)} re-ran, {time.monotonic() - killed_at:.1f} s")


def test_killed_work_horse_of_a_fork_worker(private_stack, origin_url):
    env, client, add_worker = private_stack
    add_worker("forking", "--class", "fork")
    wait_until(lambda: alive_workers(client), 30, "a worker")
    urls = [f"{origin_url}/delay/400?n={i}" for i in range(6)]
    run_id = submit(client, env, urls, "sequential")
    job = started_job(client)
    wait_for_some_tasks(client, run_id, 1)
    horse = json.loads(client.hvals(keys.running_key(run_id))[0])["pid"]
    assert horse != worker_pid(client, job.worker_name)
    os.kill(horse, signal.SIGKILL)
    record = wait_for_run(client, run_id, timeout_s=60)
    assert_exactly_once(client, record)
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    assert 2 in [t["attempt"] for t in record["tasks"]]


def test_killed_process_pool_child_is_retried_in_a_fresh_pool(private_stack, origin_url):
    env, client, add_worker = private_stack
    add_worker("w")
    wait_until(lambda: alive_workers(client), 30, "a worker")
    urls = [f"{origin_url}/delay/1500?n={i}" for i in range(4)]
    run_id = submit(client, env, urls, "processes", concurrency=4)
    job = started_job(client)
    parent = worker_pid(client, job.worker_name)

    def child_pids() -> set[int]:
        starts = client.hvals(keys.running_key(run_id))
        return {json.loads(start)["pid"] for start in starts} - {parent}

    victim = wait_until(lambda: len(child_pids()) == 4 and min(child_pids()), 30, "4 children")
    os.kill(victim, signal.SIGKILL)
    record = wait_for_run(client, run_id, timeout_s=60)
    assert_exactly_once(client, record)
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    assert any(t["attempt"] == 2 for t in record["tasks"])


def test_sigterm_is_a_warm_shutdown(private_stack, origin_url):
    env, client, add_worker = private_stack
    service = add_worker("leaving")
    wait_until(lambda: alive_workers(client), 30, "a worker")
    urls = [f"{origin_url}/delay/500?n={i}" for i in range(6)]
    run_id = submit(client, env, urls, "sequential")
    started_job(client)
    service.signal_group(signal.SIGTERM)  # what honcho and `docker compose stop` send
    record = wait_for_run(client, run_id, timeout_s=30)
    assert_exactly_once(client, record)
    assert [t["attempt"] for t in record["tasks"]] == [1] * 6
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    service.proc.wait(timeout=15)
    assert "Traceback" not in service.log()


@pytest.mark.usefixtures("workers")
def test_a_job_whose_message_is_not_run_tasks_fails_clearly_and_the_worker_lives(redis_client):
    """A job left in the queue by another version, with arguments this one cannot read: it
    fails with a message naming why, and the worker takes the next job."""
    from rq.job import Job

    from contract import jobs
    from producer.connection import fanout_queue

    queue = fanout_queue(redis_client)
    job = queue.enqueue(jobs.RUN_TASKS, args=("abc", "not a part"), job_id=keys.job_id("bad", 0))
    wait_until(lambda: job.get_status(refresh=True) == "failed", 30, "the job to fail")
    assert (
        "not a run_tasks message"
        in Job.fetch(job.id, connection=redis_client, serializer=queue.serializer)
        .latest_result()
        .exc_string
    )
    probe = queue.enqueue(jobs.NOOP)
    wait_until(lambda: probe.get_status(refresh=True) == "finished", 30, "the next job")
