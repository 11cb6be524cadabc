"""Turns a RunSpec into a run record and its RQ jobs, all or nothing."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Sequence
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, WatchError
from redis.typing import EncodableT, FieldT
from rq import Queue

from contract import fleet, keys, plan, urls_list
from contract.records import RunSpec
from contract.replies import text
from contract.settings import Settings
from contract.states import RunState, Strategy
from producer import sequence, staging

log = logging.getLogger(__name__)

#: The most times a comparison may repeat each strategy.
MAX_REPEAT = 10


def new_id() -> str:
    return secrets.token_hex(6)


def _run_fields(
    run_id: str,
    spec: RunSpec,
    parts: int,
    chunk_size: int,
    now: float,
    comparison_id: str | None,
    settings: Settings,
    repeat_index: int = 0,
) -> dict[FieldT, EncodableT]:
    return {
        "id": run_id,
        "spec": json.dumps(spec.settings_dict(), separators=(",", ":")),
        "urls_owner": comparison_id or run_id,
        "strategy": spec.strategy.value,
        "state": RunState.QUEUED.value,
        "total": len(spec.urls),
        "done": 0,
        "jobs": parts,
        "chunk_size": chunk_size,
        "submitted_at": repr(now),
        "comparison": comparison_id or "",
        "repeat_index": repeat_index,
        "task_deadline_s": repr(settings.task_deadline_s),
    }


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


def _id_for_key(redis: Redis, idempotency_key: str, request: dict[str, Any], ttl_s: int) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    body = json.dumps(request, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(body.encode()).hexdigest()[:16]
    key = keys.idempotency_key(digest)
    named = f"{new_id()}:{fingerprint}"
    if not redis.set(key, named, nx=True, ex=ttl_s):
        named = text(redis.get(key)) or named
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

    The creating request holds a lock (SET NX, expiring), and a twin meanwhile gets
    IdempotencyInProgress; the comparison itself is written in one transaction, so a retry after
    a failure finds either all of it or none.
    """
    request: dict[str, object] = {
        "compare": spec.to_dict(),
        "strategies": [s.value for s in strategies],
        "repeat": repeat,
    }
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
    request may also hold), nothing is written if the run exists: returns False then. A run of
    more than `staging.STAGE_ABOVE` jobs has them written first, in slices, and queued by the
    run's own transaction (`producer.staging`)."""
    chunk_size = plan.hybrid_chunk_size(spec, fleet.count_alive(redis))
    parts = plan.parts_count(spec, chunk_size)
    datas = plan.iter_job_datas(
        run_id,
        spec,
        chunk_size,
        task_deadline_s=settings.task_deadline_s,
        failure_ttl_s=settings.ttl_s,
    )
    staged = parts > staging.STAGE_ABOVE
    if staged:
        if once and redis.exists(keys.run_key(run_id)):
            return False
        staging.stage(redis, queue, run_id, datas)
    fields = _run_fields(run_id, spec, parts, chunk_size, now, None, settings)
    with redis.pipeline(transaction=True) as pipe:
        try:
            if once:
                pipe.watch(keys.run_key(run_id))
                if pipe.exists(keys.run_key(run_id)):
                    return False
                pipe.multi()
            pipe.hset(keys.run_key(run_id), mapping=fields)
            pipe.expire(keys.run_key(run_id), settings.ttl_s)
            urls_list.store(pipe, run_id, spec.urls, settings.ttl_s)
            pipe.zadd(keys.runs_index_key(), {run_id: now})
            pipe.zremrangebyscore(keys.runs_index_key(), "-inf", now - settings.ttl_s)
            if staged:
                staging.commit(pipe, queue, run_id)
            else:
                queue.enqueue_many(list(datas), pipeline=pipe)
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
    now: float | None = None,
) -> tuple[str, list[str]]:
    """The same batch under each strategy, `repeat` times interleaved (s1 s2 .. s1 s2 ..), one
    run after another: only the first run's jobs are enqueued now, and each next run when the
    previous one has ended (`producer.sequence`), so runs never compete for the workers.

    Every record is written in one MULTI/EXEC: a failure leaves nothing behind."""
    if not 1 <= repeat <= MAX_REPEAT:
        raise ValueError(f"repeat must be from 1 to {MAX_REPEAT}")
    comparison_id = comparison_id or new_id()
    now = time.time() if now is None else now
    order = [(strategy, index) for index in range(repeat) for strategy in strategies]
    run_ids = [new_id() for _ in order]
    with redis.pipeline(transaction=True) as pipe:
        for run_id, (strategy, index) in zip(run_ids, order, strict=True):
            run_spec = RunSpec(spec.urls, strategy, spec.concurrency, spec.workload)
            fields = _run_fields(run_id, run_spec, 0, 0, now, comparison_id, settings, index)
            pipe.hset(keys.run_key(run_id), mapping=fields)
            pipe.expire(keys.run_key(run_id), settings.ttl_s)
        urls_list.store(pipe, comparison_id, spec.urls, settings.ttl_s)
        pipe.hset(
            keys.comparison_key(comparison_id),
            mapping={
                "id": comparison_id,
                "spec": json.dumps(spec.settings_dict(), separators=(",", ":")),
                "total": len(spec.urls),
                "runs": json.dumps(run_ids),
                "strategies": json.dumps([s.value for s in strategies]),
                "repeat": repeat,
                "released": 0,
                "ttl_s": settings.ttl_s,
                "submitted_at": repr(now),
            },
        )
        pipe.expire(keys.comparison_key(comparison_id), settings.ttl_s)
        pipe.sadd(keys.active_comparisons_key(), comparison_id)
        pipe.zadd(
            keys.runs_index_key(), {run_id: now + i * 1e-6 for i, run_id in enumerate(run_ids)}
        )
        pipe.zremrangebyscore(keys.runs_index_key(), "-inf", now - settings.ttl_s)
        pipe.execute()
    try:
        sequence.release(redis, queue, comparison_id, live_workers=fleet.count_alive(redis))
    except RedisError:  # stored whole: the conductor's once-a-second pass releases it
        log.warning("comparison %s stored; its first run is left to the conductor", comparison_id)
    return comparison_id, run_ids
