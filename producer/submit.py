"""Turns a RunSpec into a run record and its RQ jobs, all or nothing."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError
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
    _store_run(redis, queue, spec, settings, run_id, time.time() if now is None else now)
    return run_id


class IdempotencyConflict(ValueError):
    """The Idempotency-Key was first sent with another batch."""


def submit_run_once(
    redis: Redis, queue: Queue, spec: RunSpec, settings: Settings, idempotency_key: str
) -> tuple[str, bool]:
    """`submit_run` for a client that retries: every request with the same Idempotency-Key gets
    the first one's run, created once. Returns (run id, created by this call).

    The key names the run id before the run exists (SET NX), so a retry after a failure that
    left no run (Redis down mid-submission) creates it under that id, and two concurrent twins
    race on one WATCHed run key: one creates, the other finds it.
    """
    run_id = run_id_for_key(redis, idempotency_key, spec, settings.ttl_s)
    return run_id, _store_run(redis, queue, spec, settings, run_id, time.time(), once=True)


def run_id_for_key(redis: Redis, idempotency_key: str, spec: RunSpec, ttl_s: int) -> str:
    """The run id an Idempotency-Key names, fixed by its first request (which need not have
    created the run); IdempotencyConflict if that request carried another batch."""
    return _id_for_key(redis, idempotency_key, {"run": spec.to_dict()}, ttl_s)


def _id_for_key(redis: Redis, idempotency_key: str, request: dict, ttl_s: int) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    body = json.dumps(request, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(body.encode()).hexdigest()[:16]
    key = keys.idempotency_key(digest)
    named = f"{new_id()}:{fingerprint}"
    if not redis.set(key, named, nx=True, ex=ttl_s):
        stored = redis.get(key)
        named = stored.decode() if stored else named
    named_id, _, first_fingerprint = named.partition(":")
    if first_fingerprint != fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was first used with a different batch")
    return named_id


class IdempotencyInProgress(RuntimeError):
    """Another request with the same Idempotency-Key is creating its comparison right now."""


#: How long a comparison's creation may hold its Idempotency-Key before a retry may take over.
COMPARISON_LOCK_S = 60


def submit_comparison_once(
    redis: Redis,
    queue: Queue,
    spec: RunSpec,
    settings: Settings,
    strategies: Sequence[Strategy],
    idempotency_key: str,
    repeat: int = 1,
) -> tuple[str, list[str], bool]:
    """`submit_comparison` for a client that retries: (comparison id, run ids, created).

    A comparison spans several transactions, so a twin cannot be stopped by WATCH as a run's is:
    the creating request holds a lock (SET NX, expiring), and a twin meanwhile gets
    IdempotencyInProgress. A retry after a failure part-way creates it anew under the same id.
    """
    request = {"compare": spec.to_dict(), "strategies": [s.value for s in strategies]}
    comparison_id = _id_for_key(redis, idempotency_key, request, settings.ttl_s)
    run_ids = _comparison_run_ids(redis, comparison_id)
    if run_ids is not None:
        return comparison_id, run_ids, False
    lock = keys.idempotency_key(f"lock:{comparison_id}")
    if not redis.set(lock, "1", nx=True, ex=COMPARISON_LOCK_S):
        raise IdempotencyInProgress("a request with this Idempotency-Key is still being created")
    try:
        run_ids = _comparison_run_ids(redis, comparison_id)
        if run_ids is not None:
            return comparison_id, run_ids, False
        _, run_ids = submit_comparison(
            redis, queue, spec, settings, strategies, comparison_id=comparison_id, repeat=repeat
        )
        return comparison_id, run_ids, True
    finally:
        redis.delete(lock)


def _comparison_run_ids(redis: Redis, comparison_id: str) -> list[str] | None:
    runs = redis.hget(keys.comparison_key(comparison_id), "runs")
    return json.loads(runs) if runs else None


def _store_run(
    redis: Redis,
    queue: Queue,
    spec: RunSpec,
    settings: Settings,
    run_id: str,
    now: float,
    *,
    once: bool = False,
) -> bool:
    """The run's record, index entry and jobs, all or nothing. With `once` (a run id another
    request may also hold), nothing is written if the run exists: returns False then."""
    chunk_size = hybrid_chunk_size(spec, live_workers(redis))
    datas = _job_datas(run_id, spec, settings, chunk_size)
    fields = _run_fields(run_id, spec, len(datas), chunk_size, now, None)
    with redis.pipeline(transaction=True) as pipe:
        try:
            if once:
                pipe.watch(keys.run_key(run_id))
                if pipe.exists(keys.run_key(run_id)):
                    return False
                pipe.multi()
            pipe.hset(keys.run_key(run_id), mapping=fields)
            pipe.expire(keys.run_key(run_id), settings.ttl_s)
            pipe.zadd(keys.runs_index_key(), {run_id: now})
            pipe.zremrangebyscore(keys.runs_index_key(), "-inf", now - settings.ttl_s)
            queue.enqueue_many(datas, pipeline=pipe)
            pipe.execute()
        except WatchError:
            # A twin created the run, or the connection broke while watching (redis-py says
            # WatchError for both): only the run's existence tells them apart.
            if redis.exists(keys.run_key(run_id)):
                return False
            raise RedisConnectionError("the connection broke during the submission") from None
    return True


def submit_comparison(
    redis: Redis,
    queue: Queue,
    spec: RunSpec,
    settings: Settings,
    strategies: Sequence[Strategy] = tuple(Strategy),
    *,
    comparison_id: str | None = None,
    repeat: int = 1,
) -> tuple[str, list[str]]:
    """The same batch under each strategy, one run after another (RQ job dependencies chain them,
    so runs never compete for the workers). Run records become visible only once every job is
    enqueued; a failure part-way leaves hidden records that expire with their TTL."""
    comparison_id = comparison_id or new_id()
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
