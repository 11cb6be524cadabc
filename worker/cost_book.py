"""Keeps what a run's jobs cost on this worker in the run's cost hash (`keys.cost_key`).

One field per worker, merged over its jobs of the run (`contract.cost.WorkerCost.merged`), so
a reader sums a few fields per host however many jobs the run had. The worker runs one job at
a time and is the only writer of its field: the merge is kept in this process and written with
one round trip per job. A fork worker's work-horse starts from its parent's memory, not its
previous horse's, so it reads the field first.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis

from contract import keys
from contract.cost import WorkerCost
from contract.plan import RunTasks
from contract.states import Strategy
from worker import identity
from worker.cost import SAMPLER, JobMeter

log = logging.getLogger(__name__)

#: Runs whose merged cost this process keeps (a worker runs few at once; the oldest goes).
KEPT_RUNS = 64

_kept: OrderedDict[str, tuple[int, WorkerCost]] = OrderedDict()


def _so_far(redis: Redis, run_id: str, worker: str) -> WorkerCost | None:
    kept = _kept.get(run_id)
    if kept is not None and kept[0] == os.getpid():
        return kept[1]
    raw = redis.hget(keys.cost_key(run_id), worker)
    return WorkerCost.from_json(raw) if raw is not None else None


def record(redis: Redis, run_id: str, job: WorkerCost, ttl_s: int) -> WorkerCost:
    """Merge one job's cost into this worker's for the run and write it."""
    worker = identity.worker_name()
    before = _so_far(redis, run_id, worker)
    merged = before.merged(job) if before is not None else job
    pipe = redis.pipeline(transaction=False)
    pipe.hset(keys.cost_key(run_id), worker, merged.to_json())
    pipe.expire(keys.cost_key(run_id), ttl_s)
    pipe.execute()
    _kept[run_id] = (os.getpid(), merged)
    _kept.move_to_end(run_id)
    while len(_kept) > KEPT_RUNS:
        _kept.popitem(last=False)
    return merged


@contextmanager
def measured(redis: Redis, message: RunTasks, ttl_s: int) -> Iterator[None]:
    """Measure the job run inside, and keep its cost. A failure to measure or to write is
    logged, never the job's: the tasks' records are what the run is for. Children are counted
    for the processes strategy alone, the one whose children run tasks."""
    run_id = message.run_id
    meter: JobMeter | None = None
    try:
        SAMPLER.start()
        children = message.strategy == Strategy.PROCESSES.value
        meter = JobMeter(identity.host(), count_children=children)
        SAMPLER.add(meter)
    except Exception:
        log.warning("run %s: this job's cost is not measured", run_id, exc_info=True)
    try:
        yield
    finally:
        if meter is not None:
            SAMPLER.remove(meter)
            try:
                record(redis, run_id, meter.finish(), ttl_s)
            except Exception:
                log.warning("run %s: this job's cost is not kept", run_id, exc_info=True)
