"""Workers die mid-run: every task still ends in exactly one terminal state, none counted twice.

Each test runs on its own redis-server and its own workers, so killing them disturbs nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import redis as redis_lib
from rq.job import Job
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.support import alive_workers, start_redis, start_worker, wait_until


@pytest.fixture
def private_stack(tmp_path, stack_env):
    redis_service = start_redis(tmp_path)
    env = dict(stack_env, REDIS_URL=redis_service.url)
    client = redis_lib.Redis.from_url(redis_service.url)
    started = []

    def add_worker(name: str):
        service = start_worker(tmp_path, env, name=name)
        started.append(service)
        return service

    yield env, client, add_worker
    for service in started:
        service.stop(timeout_s=5)
    redis_service.stop()


def submit(client, env, urls, strategy, concurrency=1):
    settings = Settings.from_env(env)
    spec = RunSpec(tuple(urls), Strategy(strategy), concurrency)
    return submit_run(client, fanout_queue(client), spec, settings)


def started_job(client) -> Job:
    registry = StartedJobRegistry(queue=fanout_queue(client))
    job_id = wait_until(lambda: registry.get_job_ids(cleanup=False), 30, "a started job")[0]
    return Job.fetch(job_id, connection=client, serializer=JSONSerializer)


def worker_pid(client, worker_name: str) -> int:
    return int(client.hget(f"rq:worker:{worker_name}", "pid"))


def assert_exactly_once(record):
    assert sorted(t["index"] for t in record["tasks"]) == list(range(record["total"]))
    assert record["duplicates"] == 0
    assert record["running"] == []


def wait_for_some_tasks(client, run_id, count):
    from producer.wait import run_state

    wait_until(lambda: run_state(client, run_id)[1] >= count, 30, f"{count} tasks done")


@pytest.mark.parametrize("kill", ["worker process", "whole process group"])
def test_killed_worker_leaves_no_task_pending(private_stack, origin_url, kill):
    env, client, add_worker = private_stack
    first = add_worker("victim")
    wait_until(lambda: len(alive_workers(client)) == 1, 30, "the first worker")
    urls = [f"{origin_url}/delay/400?n={i}" for i in range(8)]
    run_id = submit(client, env, urls, "sequential")
    job = started_job(client)
    wait_for_some_tasks(client, run_id, 2)
    add_worker("survivor")
    wait_until(lambda: len(alive_workers(client)) == 2, 30, "the second worker")
    if kill == "worker process":
        os.kill(worker_pid(client, job.worker_name), signal.SIGKILL)
    else:
        first.signal_group(signal.SIGKILL)
    killed_at = time.monotonic()

    record = wait_for_run(client, run_id, timeout_s=60)
    assert_exactly_once(record)
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    attempts = [t["attempt"] for t in record["tasks"]]
    assert attempts[:2] == [1, 1]  # written before the kill, kept
    assert 2 in attempts  # the rest re-ran once elsewhere
    print(f"recovered {attempts.count(2)} tasks in {time.monotonic() - killed_at:.1f} s")


def test_killed_process_pool_child_is_retried_in_a_fresh_pool(private_stack, origin_url):
    env, client, add_worker = private_stack
    add_worker("w")
    wait_until(lambda: alive_workers(client), 30, "a worker")
    urls = [f"{origin_url}/delay/1500?n={i}" for i in range(4)]
    run_id = submit(client, env, urls, "processes", concurrency=4)
    job = started_job(client)
    parent = worker_pid(client, job.worker_name)

    def child_pids() -> set[int]:
        starts = client.hvals(f"fanout:run:{run_id}:running")
        return {json.loads(start)["pid"] for start in starts} - {parent}

    victim = wait_until(lambda: len(child_pids()) == 4 and min(child_pids()), 30, "4 children")
    os.kill(victim, signal.SIGKILL)
    record = wait_for_run(client, run_id, timeout_s=60)
    assert_exactly_once(record)
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
    assert_exactly_once(record)
    assert [t["attempt"] for t in record["tasks"]] == [1] * 6
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    service.proc.wait(timeout=15)
    assert "Traceback" not in service.log()
