"""The one task body every peer queue runs (Celery, Dramatiq, arq), and how each task says it
ended: the same work as fanout's task, with nothing of fanout around it.

A task GETs its URL and reads the whole body (the cpu workload then burns `worker.cpu.burn` on
the body's SHA-256, as fanout's task does), then INCRs the round's counter in the peer's Redis;
the task that brings it to the round's total pushes its end time to `<key>:done`, which the
bench waits on with one BLPOP. That INCR is one Redis command per task the peers pay and fanout
does not (fanout's own records say when a run is done).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis as redis_lib

from bench.jobs import session_get
from worker.cpu import burn

#: The peer's broker URL (a redis:// or amqp:// URL), read by its worker module at import.
BROKER_ENV = "FANOUT_PEER_BROKER"
#: The Redis the tasks count their ends in (the broker itself when the broker is Redis).
COUNTER_ENV = "FANOUT_PEER_COUNTER"
#: The queue name the peer's workers read.
QUEUE_ENV = "FANOUT_PEER_QUEUE"
#: arq's `max_jobs` per worker process.
MAX_JOBS_ENV = "FANOUT_PEER_MAX_JOBS"

#: A peer's worker processes for one workload, from its module's `workers`: (arguments, extra
#: environment) of each.
Commands = list[tuple[list[str], dict[str, str]]]
#: A peer's enqueuing of a round, from its module's `enqueuer`: every task's arguments at once.
Enqueue = Callable[[list[tuple[Any, ...]]], None]

_lock = threading.Lock()
_counter: redis_lib.Redis | None = None


def counter() -> redis_lib.Redis:
    """One client (and its connection pool) per worker process."""
    global _counter
    with _lock:
        if _counter is None:
            _counter = redis_lib.Redis.from_url(os.environ[COUNTER_ENV])
        return _counter


def done_key(key: str) -> str:
    return f"{key}:done"


def work(body: bytes, workload: str, rounds: int) -> int:
    """What is done with a fetched body: its length, after the cpu workload's burn if asked."""
    if workload == "cpu":
        burn(hashlib.sha256(body).digest(), rounds)
    return len(body)


def fetch(url: str, workload: str, rounds: int) -> int:
    """The synchronous body: this thread's keep-alive `requests` Session."""
    return work(session_get(url), workload, rounds)


def sync_task(url: str, workload: str, rounds: int, key: str, total: int) -> int:
    """The whole task for a thread- or process-based peer (Celery, Dramatiq)."""
    size = fetch(url, workload, rounds)
    client = counter()
    if client.incr(key) == total:
        client.rpush(done_key(key), time.time())
    return size
