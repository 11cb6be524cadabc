"""Keeps what a run's jobs cost on this worker in the run's cost hash (`keys.cost_key`).

One field per worker, merged over its jobs of the run (`contract.cost.WorkerCost.merged`), so
a reader sums a few fields per host however many jobs the run had. The worker runs one job at
a time and is the only writer of its field: the merge is kept in this process. A fork worker's
work-horse starts from its parent's memory, not its previous horse's, so it reads the field
first.

A job's cost is written as the job returns, before the recorder's last flush; the recorder's
flusher may have written the job's last records a moment before, ending the run. Short jobs on
a warm worker (the queue strategy's one-URL jobs) would pay a Redis round trip each, a few
percent of such a job: the sampler thread writes their cost, at most every WRITE_EVERY_S. So a
run can be done a moment before its cost is whole (`total.jobs` below the run's `jobs`); it is
still provisional then: the run is final once a worker finalizes it, `figures.runfacts.SETTLE_S`
after its end. A worker stopping writes what it holds on exit; one killed loses the cost of its
last short jobs.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from redis import Redis
from redis.exceptions import RedisError

from contract import keys
from contract.cost import WorkerCost
from contract.plan import RunTasks
from contract.states import Strategy
from worker import identity
from worker.cost import SAMPLER, JobMeter

log = logging.getLogger(__name__)

#: Runs whose merged cost this process keeps (a worker runs few at once; the oldest goes).
KEPT_RUNS = 64

#: A job shorter than this, on a worker that has run a job before, leaves its write to the
#: sampler (see the module).
DEFER_UNDER_S = 0.1

#: The sampler writes the deferred costs at most this often: a run of one-URL jobs costs a
#: write per interval, not per job.
WRITE_EVERY_S = 0.5

_kept: OrderedDict[str, tuple[int, WorkerCost]] = OrderedDict()
_lock = threading.Lock()
#: (run id, worker) -> (client, cost, ttl): written by the sampler's next tick.
_pending: dict[tuple[str, str], tuple[Redis, WorkerCost, int]] = {}
_jobs_here = 0
_written_at = 0.0


def _so_far(redis: Redis, run_id: str, worker: str) -> WorkerCost | None:
    kept = _kept.get(run_id)
    if kept is not None and kept[0] == os.getpid():
        return kept[1]
    raw = redis.hget(keys.cost_key(run_id), worker)
    return WorkerCost.from_json(raw) if raw is not None else None


def _write(redis: Redis, run_id: str, worker: str, cost: WorkerCost, ttl_s: int) -> None:
    pipe = redis.pipeline(transaction=False)
    pipe.hset(keys.cost_key(run_id), worker, cost.to_json())
    pipe.expire(keys.cost_key(run_id), ttl_s)
    pipe.execute()


def record(
    redis: Redis, run_id: str, job: WorkerCost, ttl_s: int, *, defer: bool = False
) -> WorkerCost:
    """Merge one job's cost into this worker's for the run; write it now, or with `defer` at
    the sampler's next tick."""
    worker = identity.worker_name()
    with _lock:
        before = _so_far(redis, run_id, worker)
        merged = before.merged(job) if before is not None else job
        _kept[run_id] = (os.getpid(), merged)
        _kept.move_to_end(run_id)
        while len(_kept) > KEPT_RUNS:
            _kept.popitem(last=False)
        if defer:
            _pending[(run_id, worker)] = (redis, merged, ttl_s)
            return merged
        _pending.pop((run_id, worker), None)  # this write carries it
    _write(redis, run_id, worker, merged, ttl_s)
    return merged


def write_pending(*, now: float | None = None) -> None:
    """Write the deferred costs, at most every WRITE_EVERY_S unless `now` is None (at exit);
    one that fails stays for the next call."""
    global _written_at
    if now is not None:
        if now - _written_at < WRITE_EVERY_S:
            return
        _written_at = now
    with _lock:
        pending = list(_pending.items())
        _pending.clear()
    for (run_id, worker), (redis, cost, ttl_s) in pending:
        try:
            _write(redis, run_id, worker, cost, ttl_s)
        except Exception:
            with _lock:
                _pending.setdefault((run_id, worker), (redis, cost, ttl_s))
            raise


def _forget_after_fork() -> None:
    global _lock, _jobs_here
    _lock = threading.Lock()
    _pending.clear()  # the parent writes its own
    _jobs_here = 0


SAMPLER.after_tick.append(lambda: write_pending(now=time.monotonic()))
os.register_at_fork(after_in_child=_forget_after_fork)


def _write_pending_at_exit() -> None:
    try:
        write_pending()
    except Exception as exc:  # Redis gone first: the cost of the last short jobs is lost
        log.warning("the cost of %d runs' last jobs is not kept: %s", len(_pending), exc)


# Run at a worker's exit, a supervised one's too (a multiprocessing child skips atexit).
multiprocessing.util.Finalize(None, _write_pending_at_exit, exitpriority=10)


@contextmanager
def measured(redis: Redis, message: RunTasks, ttl_s: int) -> Iterator[None]:
    """Measure the job run inside, and keep its cost. A failure to measure or to write is
    logged, never the job's: the tasks' records are what the run is for. Children are counted
    for the processes strategy alone, the one whose children run tasks."""
    global _jobs_here
    run_id = message.run_id
    meter: JobMeter | None = None
    warm = _jobs_here > 0
    _jobs_here += 1
    started = time.monotonic()
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
            defer = warm and time.monotonic() - started < DEFER_UNDER_S
            try:
                record(redis, run_id, meter.finish(), ttl_s, defer=defer)
            except RedisError as error:  # Redis away: one line, the job's outcome stands
                log.warning("run %s: this job's cost is not kept (%s)", run_id, error)
            except Exception:
                log.warning("run %s: this job's cost is not kept", run_id, exc_info=True)
