"""The Dramatiq actor of the peers scenario: `dramatiq bench.peer_dramatiq --processes P
--threads T`, on a RedisBroker at `FANOUT_PEER_BROKER`. No retries (a failed task is a failed
bench) and no result backend."""

from __future__ import annotations

import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from bench import peer_body

ACTOR = "peer_fetch"

broker = RedisBroker(url=os.environ.get(peer_body.BROKER_ENV, "redis://127.0.0.1:6379/15"))
dramatiq.set_broker(broker)


@dramatiq.actor(
    actor_name=ACTOR, max_retries=0, queue_name=os.environ.get(peer_body.QUEUE_ENV, "default")
)
def fetch(url: str, workload: str, rounds: int, key: str, total: int) -> None:
    peer_body.sync_task(url, workload, rounds, key, total)
