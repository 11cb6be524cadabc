"""The Dramatiq actor of the peers scenario: `dramatiq bench.peer_dramatiq --processes P
--threads T`, on a RedisBroker at `FANOUT_PEER_BROKER`. No retries (a failed task is a failed
bench) and no result backend. `workers` and `enqueuer` are the bench's side (`bench.peers`)."""

from __future__ import annotations

import os
from typing import Any

import dramatiq
from dramatiq import Message
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


def workers(name: str, queue: str, processes: int, threads: int) -> tuple[peer_body.Commands, str]:
    """The bench's worker command for a workload, and the note saying how it is tuned."""
    flags = ["--processes", str(processes), "--threads", str(threads)]
    commands: peer_body.Commands = [(["-m", "dramatiq", "bench.peer_dramatiq", *flags], {})]
    return commands, f"`dramatiq {' '.join(flags)}`"


def enqueuer(broker_url: str, queue: str) -> peer_body.Enqueue:
    broker = RedisBroker(url=broker_url)
    broker.declare_queue(queue)

    def enqueue(arg_lists: list[tuple[Any, ...]]) -> None:
        for args in arg_lists:
            message: Message[Any] = Message(
                queue_name=queue, actor_name=ACTOR, args=args, kwargs={}, options={}
            )
            broker.enqueue(message)

    return enqueue
