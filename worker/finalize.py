"""Ended runs get their facts kept (`figures.runfacts.snapshot`) by whichever worker's
housekeeping pass claims them first, once their CPU samples have settled."""

from __future__ import annotations

import logging
import time

from redis import Redis

from contract import keys, replies
from figures import runfacts

log = logging.getLogger(__name__)


def finalize_ended_runs(redis: Redis, *, now: float | None = None) -> list[str]:
    now = time.time() if now is None else now
    finalized = []
    for raw in redis.smembers(keys.ended_runs_key()):
        run_id = replies.text(raw)
        finished_at = redis.hget(keys.run_key(run_id), "finished_at")
        if finished_at is None:  # the run record is gone: nothing to keep
            redis.srem(keys.ended_runs_key(), run_id)
            continue
        if now - float(finished_at) < runfacts.SETTLE_S:
            continue
        facts = runfacts.read_live(redis, run_id, now=now)
        if not runfacts.settled(facts, float(finished_at), now):
            continue  # a sample after the end has not landed yet (a busy host)
        if not redis.srem(keys.ended_runs_key(), run_id):
            continue  # another worker claimed it
        runfacts.keep(redis, run_id, facts)
        redis.hset(keys.run_key(run_id), "t_peak", runfacts.read_peak(redis, run_id))
        finalized.append(run_id)
    return finalized
