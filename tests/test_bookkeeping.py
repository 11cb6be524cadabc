"""The worker's RQ bookkeeping: writes to its own worker hash that nothing reads are not repeated
within a second (a heartbeat, an unchanged state, the suspension check), on a real Redis."""

from __future__ import annotations

import datetime as dt
import uuid

import redis as redis_lib
from rq import Queue
from rq.serializers import JSONSerializer
from rq.worker import WorkerStatus

from worker.process import FanoutSimpleWorker


def _worker(private_redis: redis_lib.Redis) -> FanoutSimpleWorker:
    queue = Queue(f"bookkeeping-{uuid.uuid4().hex[:8]}", connection=private_redis)
    worker = FanoutSimpleWorker([queue], connection=private_redis, serializer=JSONSerializer)
    worker.register_birth()
    return worker


def _commands(private_redis: redis_lib.Redis) -> int:
    stats = private_redis.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def _sent(private_redis: redis_lib.Redis, action) -> int:
    """Commands Redis ran for `action` (on the test's own Redis, where this client is the only
    one writing; the INFO reads are left out)."""
    before = _commands(private_redis)
    action()
    return _commands(private_redis) - before


def test_a_second_heartbeat_within_a_second_sends_nothing(private_redis: redis_lib.Redis) -> None:
    worker = _worker(private_redis)
    try:
        worker.heartbeat()
        assert _sent(private_redis, worker.heartbeat) == 0
        # a beat with its own TTL (a job's) always goes through
        assert _sent(private_redis, lambda: worker.heartbeat(600)) == 2
        assert private_redis.ttl(worker.key) > 500
        # an old beat is renewed
        worker.last_heartbeat = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        assert _sent(private_redis, worker.heartbeat) == 2
    finally:
        worker.register_death()


def test_an_unchanged_state_is_not_written_again(private_redis: redis_lib.Redis) -> None:
    worker = _worker(private_redis)
    try:
        worker.set_state(WorkerStatus.IDLE)
        assert _sent(private_redis, lambda: worker.set_state(WorkerStatus.IDLE)) == 0
        assert _sent(private_redis, lambda: worker.set_state(WorkerStatus.BUSY)) == 1
        assert worker.get_state() == WorkerStatus.BUSY
    finally:
        worker.register_death()


def test_the_suspension_check_runs_once_a_second(private_redis: redis_lib.Redis) -> None:
    worker = _worker(private_redis)
    try:
        worker.check_for_suspension(burst=False)
        assert _sent(private_redis, lambda: worker.check_for_suspension(burst=False)) == 0
    finally:
        worker.register_death()
