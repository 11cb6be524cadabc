"""A comparison's runs, one after another: the next is enqueued only when the previous has ended
and RQ has let go of every job of it.

Chaining the runs with RQ job dependencies measured each strategy slower inside a comparison
than alone (queue 2.74 s against 1.29 s): every finished job re-checked its dependents'
dependencies under WATCH, and each WatchError retry of RQ 2.12's `handle_job_success` left the
job's execution in the started registry for good (29 stale entries after one queue+hybrid
comparison). So the runs of a comparison wait as records only, and the conductor releases the
next once it sees the previous run ended and its jobs gone (`conductor.loop`).
"""

from __future__ import annotations

import json
import logging

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue
from rq.registry import StartedJobRegistry

from contract import keys, plan, urls_list
from contract.records import RunSpec
from contract.replies import text
from contract.states import RunState

log = logging.getLogger(__name__)


def jobs_in_flight(redis: Redis, queue: Queue, run_id: str) -> bool:
    """Whether RQ still holds a job of the run as started or just dequeued. Both lists hold at
    most one entry per worker (stale entries aside), so reading them whole is cheap."""
    prefix = keys.job_id_prefix(run_id)
    pipe = redis.pipeline(transaction=False)
    pipe.zrange(StartedJobRegistry(queue=queue).key, 0, -1)
    pipe.lrange(queue.intermediate_queue_key, 0, -1)
    started, dequeued = pipe.execute()
    return any(text(entry).startswith(prefix) for entry in [*started, *dequeued])


def release(redis: Redis, queue: Queue, comparison_id: str, *, live_workers: int) -> str | None:
    """Enqueue the comparison's next run if the one before it has ended; returns its run id.

    WATCHes the comparison, so of several conductors seeing the same end only one releases."""
    comparison = keys.comparison_key(comparison_id)
    with redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(comparison)
            released_raw, runs_raw, ttl_raw = pipe.hmget(comparison, "released", "runs", "ttl_s")
            runs = json.loads(runs_raw) if runs_raw is not None else []
            released = int(released_raw or 0)
            if released >= len(runs):  # every run released, or the comparison expired
                redis.srem(keys.active_comparisons_key(), comparison_id)
                return None
            if released > 0:
                previous = runs[released - 1]
                state = text(pipe.hget(keys.run_key(previous), "state"))
                if state and state != RunState.DONE.value:
                    return None
                if jobs_in_flight(redis, queue, previous):
                    return None
            run_id: str = runs[released]
            raw_spec, raw_deadline, raw_owner = pipe.hmget(
                keys.run_key(run_id), "spec", "task_deadline_s", "urls_owner"
            )
            if raw_spec is None:  # expired: skip it
                pipe.multi()
                pipe.hset(comparison, "released", released + 1)
                pipe.execute()
                return None
            meta = json.loads(raw_spec)
            if "urls" not in meta:
                meta["urls"] = urls_list.read(redis, text(raw_owner) or run_id)
            spec = RunSpec.from_dict(meta)
            chunk_size = plan.hybrid_chunk_size(spec, live_workers)
            datas = list(
                plan.iter_job_datas(
                    run_id,
                    spec,
                    chunk_size,
                    task_deadline_s=float(raw_deadline or 20),
                    failure_ttl_s=int(ttl_raw or 24 * 3600),
                    comparison_id=comparison_id,
                )
            )
            pipe.multi()
            pipe.hset(comparison, "released", released + 1)
            pipe.hset(keys.run_key(run_id), mapping={"jobs": len(datas), "chunk_size": chunk_size})
            queue.enqueue_many(datas, pipeline=pipe)
            pipe.execute()
        except WatchError:
            return None  # another conductor released it
    log.info("comparison %s: run %s released", comparison_id, run_id)
    return run_id
