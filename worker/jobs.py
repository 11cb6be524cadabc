"""RQ entry points. The producer enqueues these by dotted path (see `contract.jobs`).

Arguments are ids and JSON primitives, so jobs travel with RQ's JSONSerializer, never pickle.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redis import Redis
from rq import get_current_job

from contract import connection
from contract.plan import RunTasks
from contract.settings import Settings
from contract.states import Strategy, Workload
from worker.cost_book import measured
from worker.fetch import FetchLimits
from worker.recorder import Recorder
from worker.strategies import RUNNERS
from worker.task import TaskContext
from worker.task_writer import TaskWriter


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def limits() -> FetchLimits:
    """Parsed once per process: the allowlist resolves its names when parsed."""
    return FetchLimits.from_settings(settings())


@cache
def _writer_for(redis: Redis) -> TaskWriter:
    return TaskWriter(redis, settings().ttl_s)


def _redis() -> Redis:
    job = get_current_job()
    if job is not None:
        return job.connection
    return connection.connect(settings().redis_url)


def run_tasks(*args: Any) -> dict[str, Any]:
    """Run one part of a run, from its `contract.plan.RunTasks` message (positional, as enqueued).
    Per-task failures become records; the job itself fails only if its message is not a
    run_tasks message (a clear error in RQ's failed registry, never a crashed worker) or Redis
    stays unreachable."""
    message = RunTasks.from_job(args, {})
    conf = settings()
    redis = _redis()
    ctx = TaskContext(
        run_id=message.run_id,
        workload=Workload(message.workload),
        attempt=message.attempt,
        limits=limits(),
        cpu_rounds=conf.cpu_rounds,
        redis_url=conf.redis_url,
    )
    pairs = [(index, url) for index, url in message.tasks]
    with (
        Recorder(_writer_for(redis), message.run_id) as recorder,
        measured(redis, message, conf.ttl_s),  # what the job cost the OS
    ):
        RUNNERS[Strategy(message.strategy)](pairs, ctx, recorder, message.concurrency)
    return {"run_id": message.run_id, "part": message.part, "tasks": len(pairs)}


def noop() -> None:
    """Measures the queue's own cost per job in benchmarks."""
