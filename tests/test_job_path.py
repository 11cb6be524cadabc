"""fanout's own jobs cost two transactions of RQ bookkeeping, and leave what RQ, the reconciler
and the pages read (`worker/job_path.py`), on a real Redis of the test's own."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from typing import Any

import pytest
import redis as redis_lib
from rq import Queue, Worker, get_current_job
from rq.exceptions import StopRequested
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from contract import jobs
from tests.support import wait_until
from worker.process import FanoutSimpleWorker

#: What `probe` saw of Redis while it ran.
seen: dict[str, Any] = {}


def probe() -> str:
    """A job that reads what RQ and the reconciler read while it runs."""
    job = get_current_job()
    assert job is not None
    redis = job.connection
    queue = Queue(job.origin, connection=redis, serializer=JSONSerializer)
    seen["status"] = Job.fetch(job.id, connection=redis, serializer=JSONSerializer).get_status()
    seen["worker_name"] = Job.fetch(job.id, connection=redis, serializer=JSONSerializer).worker_name
    seen["started"] = StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    seen["intermediate"] = redis.lrange(queue.intermediate_queue_key, 0, -1)
    worker = Worker.all(queue=queue, serializer=JSONSerializer)[0]
    seen["worker_state"] = worker.get_state()
    seen["current_job"] = worker.get_current_job_id()
    return "probed"


def fails() -> None:
    raise RuntimeError("this job fails on purpose")


class ProbingWorker(FanoutSimpleWorker):
    """fanout's worker, with this module's jobs on fanout's own path too."""

    OWN_JOBS = FanoutSimpleWorker.OWN_JOBS | {f"{__name__}.probe", f"{__name__}.fails"}


def _commands(redis: redis_lib.Redis) -> int:
    stats = redis.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def _setup(redis: redis_lib.Redis, cls: type[FanoutSimpleWorker] = FanoutSimpleWorker):
    queue = Queue(f"job-path-{uuid.uuid4().hex[:8]}", connection=redis, serializer=JSONSerializer)
    worker = cls([queue], connection=redis, serializer=JSONSerializer)
    worker.register_birth()
    return queue, worker


def _run_one(worker: FanoutSimpleWorker) -> Job:
    """One turn of RQ's loop (`BaseWorker.work`): dequeue, execute, heartbeat."""
    result = worker.dequeue_job_and_maintain_ttl(None)
    assert result is not None
    job, queue = result
    worker.execute_job(job, queue)
    worker.heartbeat()
    return job


def test_a_fanout_job_costs_two_transactions_of_rq_bookkeeping(private_redis) -> None:
    """RQ 2.12's SimpleWorker sends 40 commands around a no-op job even with the once-a-second
    bookkeeping, in 8 round trips; fanout's own jobs: the dequeue (2), one transaction to start
    (8), one to end (8)."""
    queue, worker = _setup(private_redis)
    for _ in range(2):
        queue.enqueue(jobs.NOOP, result_ttl=jobs.RESULT_TTL_S)
    _run_one(worker)  # the first job of a worker writes its state, heartbeat and suspension check
    before = _commands(private_redis)
    _run_one(worker)
    assert _commands(private_redis) - before <= 18


def test_a_finished_fanout_job_leaves_what_rq_and_the_pages_read(private_redis) -> None:
    queue, worker = _setup(private_redis)
    job = queue.enqueue(jobs.NOOP, result_ttl=60)
    _run_one(worker)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.worker_name == worker.name
    assert job.started_at is not None and job.ended_at is not None
    assert job.ended_at >= job.started_at
    assert 0 < private_redis.ttl(job.key) <= 60
    assert job.id in FinishedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []
    assert private_redis.llen(queue.intermediate_queue_key) == 0
    found = Worker.find_by_key(worker.key, connection=private_redis, serializer=JSONSerializer)
    assert found is not None
    assert found.get_state() == WorkerStatus.IDLE
    assert found.get_current_job_id() is None


def test_the_worker_counters_are_written_within_a_second(private_redis) -> None:
    """successful_job_count and total_working_time (the Workers page's jobs done and working
    time) are added up in the worker and written at most once a second."""
    queue, worker = _setup(private_redis)
    for _ in range(3):
        queue.enqueue(jobs.NOOP, result_ttl=jobs.RESULT_TTL_S)
    for _ in range(3):
        _run_one(worker)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        worker.heartbeat()  # what the loop calls, between jobs and each idle second
        found = Worker.find_by_key(worker.key, connection=private_redis, serializer=JSONSerializer)
        assert found is not None
        if found.successful_job_count == 3:
            break
        time.sleep(0.1)
    assert found.successful_job_count == 3
    assert found.total_working_time > 0


def test_the_counts_not_yet_written_are_written_at_the_workers_death(private_redis) -> None:
    queue, worker = _setup(private_redis)
    queue.enqueue(jobs.NOOP, result_ttl=jobs.RESULT_TTL_S)
    _run_one(worker)
    worker.register_death()
    assert int(private_redis.hget(worker.key, "successful_job_count") or 0) == 1


def test_while_a_fanout_job_runs_rq_and_the_reconciler_see_it_started(private_redis) -> None:
    queue, worker = _setup(private_redis, ProbingWorker)
    job = queue.enqueue(probe, result_ttl=jobs.RESULT_TTL_S)
    seen.clear()
    _run_one(worker)
    assert seen["status"] == JobStatus.STARTED
    assert seen["worker_name"] == worker.name
    assert seen["started"] == [job.id]
    assert seen["intermediate"] == []
    assert seen["worker_state"] == WorkerStatus.BUSY
    assert seen["current_job"] == job.id
    assert job.get_status(refresh=True) == JobStatus.FINISHED


def test_a_failing_fanout_job_fails_as_rq_fails_it(private_redis) -> None:
    queue, worker = _setup(private_redis, ProbingWorker)
    job = queue.enqueue(fails, failure_ttl=60)
    _run_one(worker)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert job.id in FailedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []
    latest = job.latest_result()
    assert latest is not None and "on purpose" in (latest.exc_string or "")
    found = Worker.find_by_key(worker.key, connection=private_redis, serializer=JSONSerializer)
    assert found is not None and found.failed_job_count == 1
    assert found.get_current_job_id() is None


@pytest.mark.parametrize("result_ttl", [0, -1])
def test_a_result_ttl_of_zero_deletes_the_job_and_minus_one_keeps_it(private_redis, result_ttl):
    queue, worker = _setup(private_redis)
    job = queue.enqueue(jobs.NOOP, result_ttl=result_ttl)
    _run_one(worker)
    if result_ttl == 0:
        assert not private_redis.exists(job.key)
        assert job.id not in FinishedJobRegistry(queue=queue).get_job_ids(cleanup=False)
    else:
        assert private_redis.ttl(job.key) == -1
        assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []


def test_other_jobs_take_rqs_own_path(private_redis) -> None:
    """A job fanout did not enqueue keeps what RQ gives it: its result, among others."""
    queue, worker = _setup(private_redis)
    job = queue.enqueue(probe, result_ttl=60)
    _run_one(worker)
    assert job.get_status(refresh=True) == JobStatus.FINISHED
    assert job.return_value() == "probed"


def test_a_worker_about_to_wait_on_an_empty_queue_writes_its_counts(private_redis) -> None:
    """Before its first blocking wait (BLMOVE), not a second later."""
    queue, worker = _setup(private_redis)
    for _ in range(2):
        queue.enqueue(jobs.NOOP, result_ttl=jobs.RESULT_TTL_S)
    for _ in range(2):
        _run_one(worker)
    sent: list[str] = []
    listening = threading.Thread(target=_listen, args=(private_redis, sent), daemon=True)
    listening.start()
    wait_until(lambda: sent, 10, "MONITOR to start")
    waiting = threading.Thread(target=_wait_until_stopped, args=(worker,))
    waiting.start()  # RQ's loop out of burst mode: the dequeue waits on the empty queue
    try:
        wait_until(lambda: any(c.startswith("BLMOVE") for c in sent), 10, "the worker to wait")
    finally:
        worker._stop_requested = True  # seen within one wait (DEQUEUE_WAIT_S)
        waiting.join(10)
    first_wait = next(i for i, c in enumerate(sent) if c.startswith("BLMOVE"))
    assert any("successful_job_count" in c for c in sent[:first_wait]), sent[:first_wait]
    assert int(private_redis.hget(worker.key, "successful_job_count") or 0) == 2


def _listen(redis: redis_lib.Redis, sent: list[str]) -> None:
    """Every command Redis runs, in order, into `sent` (a first PING marks the start)."""
    client = redis_lib.Redis(connection_pool=redis.connection_pool)
    with contextlib.suppress(redis_lib.ConnectionError), client.monitor() as monitor:
        redis.ping()
        for command in monitor.listen():
            sent.append(command["command"])


def _wait_until_stopped(worker: FanoutSimpleWorker) -> None:
    with contextlib.suppress(StopRequested):
        worker.dequeue_job_and_maintain_ttl(worker.dequeue_timeout)
