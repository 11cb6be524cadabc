"""The worker's life in Redis: its span, its once-a-second beat and CPU sample, and the
housekeeping every worker shares (reconcile, finalize ended runs, forget the dead). A
comparison's next run is released by the conductor (`conductor.loop`).

The span (`keys.worker_spans_key()`) says when the worker joined and, on a clean stop, when it
left; a killed worker's span ends at its last beat. Spans are what the capacity of a queued run
and the live-worker history are computed from (`figures.capacity`, `contract.fleet`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import cache

import psutil
from redis import Redis
from rq import Queue, Worker
from rq.worker_registration import REDIS_WORKER_KEYS, WORKERS_BY_QUEUE_KEY

from contract import fleet, keys, replies
from worker import identity
from worker.finalize import finalize_ended_runs
from worker.reconcile import RECONCILE_EVERY_S, reconcile
from worker.stack_cpu import StackCpu
from worker.task_writer import TaskWriter

log = logging.getLogger(__name__)


@cache
def machine_id() -> str:
    """The kernel's boot id: shared by every container on one machine, unlike the hostname, so
    the CPU of workers in sibling containers is not mistaken for someone else's."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return identity.host()


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def own_cpu_s(process: psutil.Process) -> float:
    """CPU seconds of this worker process, its reaped children and its live ones (the process
    pool, a fork work-horse)."""
    total = sum(os.times()[:4])
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cpu = child.cpu_times()
            total += cpu.user + cpu.system
    return total


class Heartbeat:
    """Joins the fleet, beats every second, leaves on a clean stop; between beats, every
    RECONCILE_EVERY_S, does the shared housekeeping. A worker that finds itself gone from RQ's
    registry (`forget_the_dead` took it for dead while it was stopped) is put back there."""

    def __init__(
        self,
        redis: Redis,
        worker_name: str,
        queue: Queue,
        writer: TaskWriter,
        rejoin: Callable[[], bool] = lambda: False,
    ) -> None:
        self.redis = redis
        self.worker_name = worker_name
        self.queue = queue
        self.writer = writer
        #: Puts the worker back in RQ's registry; False if it has not joined it yet or is leaving.
        self.rejoin = rejoin
        self._process = psutil.Process()
        self._stack_mark = os.environ.get(fleet.STACK_ENV, "")
        self._stack_part = os.environ.get(fleet.STACK_PART_ENV, "")
        self._stack = StackCpu(self._stack_mark) if self._stack_mark else None
        self._last_beat = time.monotonic()

    def join(self) -> None:
        span = {
            "host": identity.host(),
            "supervisor": identity.supervisor(),
            "cores": identity.cores(),
            "machine": machine_id(),
            "pid": os.getpid(),
            "stack": self._stack_mark,
            "part": self._stack_part,
            "joined_at": time.time(),
            "left_at": None,
        }
        self.redis.hset(keys.worker_spans_key(), self.worker_name, json.dumps(span))
        self.beat()

    def beat(self) -> None:
        now = time.time()
        stack = self._stack.sample() if self._stack is not None else {}
        sample = fleet.format_sample(now, machine_busy_s(), own_cpu_s(self._process), stack)
        cpu_key = keys.worker_cpu_key(self.worker_name)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(keys.alive_workers_key(), {self.worker_name: now})
        pipe.zadd(cpu_key, {sample: now})
        pipe.zremrangebyscore(cpu_key, "-inf", now - keys.HISTORY_TTL_S)
        pipe.expire(cpu_key, keys.HISTORY_TTL_S)
        # Wakes a producer waiting for a run's host load (`producer.wait.wait_until_final`).
        beats = keys.worker_beats_key()
        pipe.xadd(beats, {"at": repr(now)}, maxlen=keys.STREAM_KEPT, approximate=True)
        rq_key = Worker.redis_worker_namespace_prefix + self.worker_name
        pipe.sismember(WORKERS_BY_QUEUE_KEY % self.queue.name, rq_key)
        registered = pipe.execute()[-1]
        silent_s, self._last_beat = time.monotonic() - self._last_beat, time.monotonic()
        if not registered and self.rejoin():
            # Stopped (SIGSTOP, a stalled host) past the liveness window: the others' housekeeping
            # took it for dead and removed it from RQ's registry. It beats again, so it is back.
            log.warning(
                "worker %s: taken for dead after %.0f s without a beat; registered again",
                self.worker_name,
                silent_s,
            )

    def leave(self) -> None:
        """A clean stop: the span ends now, and the worker is no longer counted alive."""
        raw = self.redis.hget(keys.worker_spans_key(), self.worker_name)
        span = json.loads(raw) if raw else {"host": identity.host(), "joined_at": time.time()}
        span["left_at"] = time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.worker_spans_key(), self.worker_name, json.dumps(span))
        pipe.zrem(keys.alive_workers_key(), self.worker_name)
        pipe.execute()

    def housekeeping(self) -> None:
        reconcile(self.redis, self.queue, self.writer)
        finalize_ended_runs(self.redis)
        forget_the_dead(self.redis, self.queue)

    def run(self, stop: threading.Event) -> None:
        last_housekeeping = 0.0
        while not stop.wait(1.0):
            try:
                self.beat()
                if time.monotonic() - last_housekeeping >= RECONCILE_EVERY_S:
                    last_housekeeping = time.monotonic()
                    self.housekeeping()
            except Exception:
                log.debug("heartbeat failed", exc_info=True)


def forget_the_dead(redis: Redis, queue: Queue, *, now: float | None = None) -> list[str]:
    """Workers killed without a word: out of RQ's worker registry once their heartbeat is older
    than `keys.ALIVE_TTL_S` (RQ itself waits for its worker key to expire: minutes), so no page
    shows them busy; and spans and samples older than the history are dropped."""
    now = time.time() if now is None else now
    lives = fleet.read_lives(redis, now=now)
    gone = {life.span.name for life in lives if life.gone}
    registered = {replies.text(raw) for raw in redis.smembers(WORKERS_BY_QUEUE_KEY % queue.name)}
    forgotten = []
    for worker_key in registered:
        name = worker_key.removeprefix(Worker.redis_worker_namespace_prefix)
        if name in gone:
            pipe = redis.pipeline(transaction=True)
            pipe.delete(worker_key)
            pipe.srem(WORKERS_BY_QUEUE_KEY % queue.name, worker_key)
            pipe.srem(REDIS_WORKER_KEYS, worker_key)
            pipe.execute()
            forgotten.append(name)
            log.warning("worker %s stopped beating: removed from RQ's worker registry", name)
    expired = [
        life.span.name for life in lives if life.gone and life.span.end < now - keys.HISTORY_TTL_S
    ]
    if expired:
        pipe = redis.pipeline(transaction=False)
        pipe.hdel(keys.worker_spans_key(), *expired)
        pipe.zrem(keys.alive_workers_key(), *expired)
        for name in expired:
            pipe.delete(keys.worker_cpu_key(name))
        pipe.execute()
    return forgotten
