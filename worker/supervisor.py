"""One host's supervisor: a pool of RQ workers that follows the worker target in Redis.

`fanout worker --pool N` runs this. It is RQ's `WorkerPool` (fork a worker per slot, respawn
the dead, SIGINT them all on SIGTERM) with one change: once a second, instead of topping the
pool up to a fixed `num_workers`, it reads the target (`contract.target`) and grows or shrinks to
this host's share. Shrinking retires the workers it no longer needs with the same warm stop as a
signal (the job in hand finishes; `worker.process._FanoutMixin._retire`), idle ones first, and
never respawns them.

It also beats for the host (`keys.hosts_key`), so a host running no worker still counts among
the live hosts a `total` target is spread over, and holds its host name with a lease, so a
second supervisor on the same machine takes `name/2` rather than the same share twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from redis import Redis
from redis.exceptions import LockError, RedisError
from redis.lock import Lock
from rq import Worker
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker
from rq.worker_pool import WorkerData, WorkerPool

from contract import keys
from contract.target import live_hosts, read_target, shares
from worker import identity, proctree
from worker.process import RETIRE_SIGNAL

log = logging.getLogger(__name__)

#: How many names (`host`, `host/2`, ...) a supervisor tries before giving up.
MAX_NAMES = 64


class HostLease:
    """The host name one supervisor holds in Redis, renewed with every beat."""

    def __init__(self, redis: Redis, base: str) -> None:
        self.redis = redis
        self.base = base
        self.name = ""
        #: The name held: redis-py's Lock (SET NX with an expiry and a token).
        self.lock: Lock | None = None

    def _hold(self, name: str) -> bool:
        """Renews the name if this supervisor holds it, else takes it if it is free."""
        key = keys.host_lease_key(name)
        if self.lock is not None and self.lock.name == key:
            try:
                return self.lock.reacquire()
            except LockError:
                pass  # lapsed: taken again below if no one else has it
        lock = self.redis.lock(key, timeout=keys.ALIVE_TTL_S, blocking=False, thread_local=False)
        if not lock.acquire(blocking=False):
            return False
        self.lock = lock
        return True

    def claim(self) -> str:
        for number in range(1, MAX_NAMES + 1):
            name = self.base if number == 1 else f"{self.base}/{number}"
            if self._hold(name):
                self.name = name
                return name
        raise RuntimeError(f"{MAX_NAMES} supervisors already hold host names like {self.base!r}")

    def renew(self) -> None:
        if not self._hold(self.name):  # stalled past the lease and someone took the name
            old = self.name
            self.claim()
            log.warning("host name %s was taken over: this supervisor is now %s", old, self.name)

    def release(self) -> None:
        # Lapsed, or another supervisor holds it now: not this one's to free.
        with contextlib.suppress(LockError):
            if self.lock is not None:
                self.lock.release()


#: RQ's pool says this once a second while its workers stop; it is let through this often.
WAITING_EVERY_S = 15.0


class WaitingLine(logging.Filter):
    """RQ's "Waiting for workers to shutdown..." said once, with what is waited for, and then
    every WAITING_EVERY_S instead of every second (a warm stop can take a task deadline)."""

    MESSAGE = "Waiting for workers to shutdown..."

    def __init__(self, pool: WorkerPool) -> None:
        super().__init__()
        self.pool = pool
        self.last_said: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg != self.MESSAGE:
            return True
        now = time.monotonic()
        if self.last_said is not None and now - self.last_said < WAITING_EVERY_S:
            return False
        count = len(self.pool.worker_dict)
        workers = f"{count} worker{'s' * (count != 1)}"
        if self.last_said is None:
            record.msg = f"Waiting for {workers} to stop: each finishes its job in hand first"
        else:
            record.msg = f"Still waiting for {workers} to stop"
        record.args = ()
        self.last_said = now
        return True


class ElasticPool(WorkerPool):
    """RQ's WorkerPool, sized by the target each second (see the module docstring).

    It overrides `check_workers` (which RQ's `start` loop calls once a second) and
    `stop_workers`; `tests/test_supervisor.py` pins the RQ methods this relies on.
    """

    def __init__(
        self,
        redis: Redis,
        lease: HostLease,
        *,
        default_size: int,
        max_size: int,
        worker_class: type[BaseWorker],
        tick_hooks: Iterable[Callable[[], None]] = (),
    ) -> None:
        super().__init__(
            [keys.QUEUE_NAME],
            connection=redis,
            num_workers=default_size,
            worker_class=worker_class,
            serializer=JSONSerializer,
        )
        self.redis = redis
        self.lease = lease
        self.default_size = default_size
        self.max_size = max_size
        self.tick_hooks = list(tick_hooks)
        self.retiring: set[str] = set()
        self.share = default_size
        self.num_workers = self._wanted()
        self.log.addFilter(WaitingLine(self))

    # --- what this host should run --------------------------------------------------------

    def _wanted(self) -> int:
        """This host's share of the target, within [0, max_size]; `default_size` with no target.
        If Redis cannot say, the pool stays as it is."""
        try:
            target = read_target(self.redis)
            if target is None:
                want = self.default_size
            else:
                hosts = live_hosts(self.redis)
                if self.lease.name not in hosts:
                    hosts.append(self.lease.name)
                want = shares(target, hosts).get(self.lease.name, 0)
        except RedisError:
            return self.num_workers
        self.share = want
        return max(0, min(want, self.max_size))

    def active(self) -> list[WorkerData]:
        """Workers not retiring, oldest first."""
        return [data for name, data in self.worker_dict.items() if name not in self.retiring]

    def _idle_first(self, candidates: list[WorkerData]) -> list[WorkerData]:
        """Newest first, idle ones before busy ones: retiring an idle worker is immediate."""
        newest = list(reversed(candidates))
        try:
            pipe = self.redis.pipeline(transaction=False)
            for data in newest:
                pipe.hget(Worker.redis_worker_namespace_prefix + data.name, "state")
            states = pipe.execute()
        except RedisError:
            return newest
        busy = [state in (b"busy", "busy") for state in states]
        return [data for _, data in sorted(zip(busy, newest, strict=True), key=lambda p: p[0])]

    def resize(self, wanted: int) -> None:
        active = self.active()
        if len(active) < wanted:
            for _ in range(wanted - len(active)):
                self.start_worker(burst=self._burst, _sleep=self._sleep)
            log.info("pool %s: grew to %d workers", self.lease.name, wanted)
        elif len(active) > wanted:
            for data in self._idle_first(active)[: len(active) - wanted]:
                self.retiring.add(data.name)
                self.stop_worker(data, sig=RETIRE_SIGNAL)
            log.info("pool %s: shrinking to %d workers (warm)", self.lease.name, wanted)

    # --- RQ's loop --------------------------------------------------------------------------

    def check_workers(self, respawn: bool = True) -> None:
        """RQ's: reap the dead and respawn; here, respawn up to this host's share only."""
        self.reap_workers()  # type: ignore[no-untyped-call]  # unannotated in RQ
        self.retiring &= set(self.worker_dict)
        if respawn and self.status != self.Status.STOPPED:
            self.num_workers = self._wanted()
            self.resize(self.num_workers)
        self.beat()
        for hook in self.tick_hooks:
            try:
                hook()
            except RedisError as error:  # Redis away (e.g. stopped with the stack): one line
                log.warning("hook %s skipped: Redis unreachable (%s)", _name(hook), error)
            except Exception:
                log.warning("supervisor hook %s failed", _name(hook), exc_info=True)

    def stop_workers(self) -> None:
        """RQ's, with the retire signal: a warm stop that never arms RQ's cold shutdown. The
        stack's own stop may also reach the workers (honcho signals the whole process group), and
        RQ takes a second SIGINT/SIGTERM more than a second after the first as a cold shutdown that
        abandons the job in hand, with a traceback; the retire signal is idempotent."""
        for name, data in list(self.worker_dict.items()):
            if name not in self.retiring:
                self.stop_worker(data, sig=RETIRE_SIGNAL)

    # --- the host in Redis ----------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "running": len(self.active()),
            "stopping": len(self.retiring),
            "share": self.share,
            "max": self.max_size,
            "pool": self.default_size,
        }

    def beat(self) -> None:
        """This host is live; hosts silent for longer than the history are forgotten."""
        now = time.time()
        try:
            self.lease.renew()
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(keys.hosts_key(), {self.lease.name: now})
            pipe.hset(keys.host_info_key(), self.lease.name, json.dumps(self.info()))
            pipe.zrangebyscore(keys.hosts_key(), "-inf", now - keys.HISTORY_TTL_S)
            forgotten = pipe.execute()[-1]
            if forgotten:
                pipe.zrem(keys.hosts_key(), *forgotten)
                pipe.hdel(keys.host_info_key(), *forgotten)
                pipe.execute()
        except RedisError:
            log.debug("host beat failed", exc_info=True)

    def leave(self) -> None:
        """A clean stop: the host is no longer live, and its name is free."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(keys.hosts_key(), self.lease.name)
        pipe.hdel(keys.host_info_key(), self.lease.name)
        pipe.execute()
        self.lease.release()


def run_pool(
    redis: Redis,
    *,
    host: str,
    pool_size: int,
    max_size: int,
    worker_class: type[BaseWorker],
    tick_hooks: Iterable[Callable[[], None]] = (),
    logging_level: str = "INFO",
) -> None:
    """Run this host's supervisor until SIGINT/SIGTERM; its workers stop warm first."""
    lease = HostLease(redis, host)
    identity.set_supervisor(lease.claim())  # before any worker is forked: they inherit it
    pool = ElasticPool(
        redis,
        lease,
        default_size=pool_size,
        max_size=max_size,
        worker_class=worker_class,
        tick_hooks=tick_hooks,
    )
    pool.tick_hooks.append(proctree.for_pool(pool).publish)  # `fanout ps`, the Workers page
    pool.beat()
    log.info("supervisor of host %s: %d workers to start", lease.name, pool.num_workers)
    try:
        pool.start(burst=False, logging_level=logging_level)
    finally:
        try:
            pool.leave()
        except RedisError as error:
            log.warning("Redis unreachable: stopping without reporting (%s)", error)


def _name(hook: Callable[[], None]) -> str:
    return getattr(hook, "__qualname__", repr(hook))
