"""RQ entry points. The producer enqueues these by dotted path (see `contract.jobs`).

Arguments are ids and JSON primitives, so jobs travel with RQ's JSONSerializer, never pickle.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from redis import Redis
from rq import get_current_job

from contract import connection
from contract.settings import Settings
from contract.states import Strategy, Workload
from worker.fetch import FetchLimits
from worker.recorder import Recorder, TaskWriter
from worker.strategies import RUNNERS
from worker.task import TaskContext


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def limits() -> FetchLimits:
    """Parsed once per process: the allowlist resolves its names when parsed."""
    return FetchLimits.from_settings(settings())


_writers: dict[int, TaskWriter] = {}


def _writer_for(redis: Redis) -> TaskWriter:
    writer = _writers.get(id(redis))
    if writer is None or writer.redis is not redis:
        writer = _writers[id(redis)] = TaskWriter(redis, settings().ttl_s)
    return writer


def _redis() -> Redis:
    job = get_current_job()
    if job is not None:
        return job.connection
    return connection.connect(settings().redis_url)


def run_tasks(
    run_id: str,
    part: int,
    tasks: list[list[Any]],
    strategy: str,
    concurrency: int,
    workload: str,
    attempt: int = 1,
) -> dict[str, Any]:
    """Run one part of a run: `tasks` are [index, url] pairs. Per-task failures become records;
    the job itself only fails if Redis stays unreachable."""
    conf = settings()
    redis = _redis()
    ctx = TaskContext(
        run_id=run_id,
        workload=Workload(workload),
        attempt=attempt,
        limits=limits(),
        cpu_rounds=conf.cpu_rounds,
        redis_url=conf.redis_url,
    )
    pairs = [(int(index), str(url)) for index, url in tasks]
    with Recorder(_writer_for(redis), run_id) as recorder:
        RUNNERS[Strategy(strategy)](pairs, ctx, recorder, int(concurrency))
    return {"run_id": run_id, "part": part, "tasks": len(pairs)}


def noop() -> None:
    """Measures the queue's own cost per job in benchmarks."""
