"""Turns a RunSpec into a run record and its RQ jobs, all or nothing."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence

from redis import Redis
from rq import Queue
from rq.job import Dependency

from contract import jobs, keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import RunState, Strategy

#: Seconds added to a job's timeout beyond the worst case of its tasks' deadlines.
JOB_TIMEOUT_MARGIN_S = 60


def new_id() -> str:
    return secrets.token_hex(6)


#: A hybrid chunk holds at most this many waves of its threads: longer chunks cost fewer jobs,
#: shorter ones balance better over the workers.
MAX_WAVES_PER_CHUNK = 4


def live_workers(redis: Redis) -> int:
    since = time.time() - keys.ALIVE_TTL_S
    return int(redis.zcount(keys.alive_workers_key(), since, "+inf"))


def hybrid_chunk_size(spec: RunSpec, workers: int) -> int:
    """`concurrency` tasks per wave, and as many waves per chunk as keep every worker busy with
    at least four chunks (between 1 and MAX_WAVES_PER_CHUNK waves)."""
    per_wave = max(1, spec.concurrency)
    waves = len(spec.urls) // (per_wave * max(1, workers) * 4)
    return per_wave * max(1, min(MAX_WAVES_PER_CHUNK, waves))


def partition(spec: RunSpec, chunk_size: int = 1) -> list[list[list[object]]]:
    """The parts of a run, one RQ job each, as lists of [index, url] pairs."""
    tasks = [[index, url] for index, url in enumerate(spec.urls)]
    if spec.strategy is Strategy.QUEUE:
        return [[task] for task in tasks]
    if spec.strategy is Strategy.HYBRID:
        return [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    return [tasks]


def job_timeout_s(spec: RunSpec, part_size: int, settings: Settings) -> int:
    """Worst case of one part: its waves of tasks, each bounded by the task deadline."""
    lanes = 1 if spec.strategy in (Strategy.SEQUENTIAL, Strategy.QUEUE) else spec.concurrency
    waves = -(-part_size // max(1, lanes))
    return int(waves * settings.task_deadline_s) + JOB_TIMEOUT_MARGIN_S


def _run_fields(
    run_id: str,
    spec: RunSpec,
    parts: int,
    chunk_size: int,
    now: float,
    comparison_id: str | None,
) -> dict[str, object]:
    return {
        "id": run_id,
        "spec": json.dumps(spec.to_dict(), separators=(",", ":")),
        "strategy": spec.strategy.value,
        "state": RunState.QUEUED.value,
        "total": len(spec.urls),
        "done": 0,
        "jobs": parts,
        "chunk_size": chunk_size,
        "submitted_at": repr(now),
        "comparison": comparison_id or "",
    }


def _job_datas(
    run_id: str,
    spec: RunSpec,
    settings: Settings,
    chunk_size: int,
    depends_on: Sequence[str] | None = None,
) -> list:
    dependency = Dependency(jobs=list(depends_on), allow_failure=True) if depends_on else None
    return [
        Queue.prepare_data(
            jobs.RUN_TASKS,
            args=(
                run_id,
                part,
                tasks,
                spec.strategy.value,
                spec.concurrency,
                spec.workload.value,
                1,
            ),
            job_id=keys.job_id(run_id, part),
            timeout=job_timeout_s(spec, len(tasks), settings),
            result_ttl=jobs.RESULT_TTL_S,
            failure_ttl=settings.ttl_s,
            depends_on=dependency,
            description=f"fanout {spec.strategy.value} run {run_id} part {part}",
        )
        for part, tasks in enumerate(partition(spec, chunk_size))
    ]


def submit_run(
    redis: Redis, queue: Queue, spec: RunSpec, settings: Settings, *, now: float | None = None
) -> str:
    """Store the run and enqueue its jobs in one MULTI/EXEC: a failure leaves nothing behind."""
    run_id = new_id()
    now = time.time() if now is None else now
    chunk_size = hybrid_chunk_size(spec, live_workers(redis))
    datas = _job_datas(run_id, spec, settings, chunk_size)
    fields = _run_fields(run_id, spec, len(datas), chunk_size, now, None)
    with redis.pipeline(transaction=True) as pipe:
        pipe.hset(keys.run_key(run_id), mapping=fields)
        pipe.expire(keys.run_key(run_id), settings.ttl_s)
        pipe.zadd(keys.runs_index_key(), {run_id: now})
        pipe.zremrangebyscore(keys.runs_index_key(), "-inf", now - settings.ttl_s)
        queue.enqueue_many(datas, pipeline=pipe)
        pipe.execute()
    return run_id


def submit_comparison(
    redis: Redis,
    queue: Queue,
    spec: RunSpec,
    settings: Settings,
    strategies: Sequence[Strategy] = tuple(Strategy),
) -> tuple[str, list[str]]:
    """The same batch under each strategy, one run after another (RQ job dependencies chain them,
    so runs never compete for the workers). Run records become visible only once every job is
    enqueued; a failure part-way leaves hidden records that expire with their TTL."""
    comparison_id = new_id()
    now = time.time()
    run_ids: list[str] = []
    previous_jobs: list[str] | None = None
    workers = live_workers(redis)
    for strategy in strategies:
        run_spec = RunSpec(spec.urls, strategy, spec.concurrency, spec.workload)
        run_id = new_id()
        chunk_size = hybrid_chunk_size(run_spec, workers)
        datas = _job_datas(run_id, run_spec, settings, chunk_size, previous_jobs)
        fields = _run_fields(run_id, run_spec, len(datas), chunk_size, now, comparison_id)
        with redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.run_key(run_id), mapping=fields)
            pipe.expire(keys.run_key(run_id), settings.ttl_s)
            pipe.execute()
        queue.enqueue_many(datas)
        previous_jobs = [data.job_id for data in datas]
        run_ids.append(run_id)
    with redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            keys.comparison_key(comparison_id),
            mapping={
                "id": comparison_id,
                "spec": json.dumps(spec.to_dict(), separators=(",", ":")),
                "runs": json.dumps(run_ids),
                "submitted_at": repr(now),
            },
        )
        pipe.expire(keys.comparison_key(comparison_id), settings.ttl_s)
        pipe.zadd(
            keys.runs_index_key(), {run_id: now + i * 1e-6 for i, run_id in enumerate(run_ids)}
        )
        pipe.execute()
    return comparison_id, run_ids
