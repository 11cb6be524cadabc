"""The Celery app of the peers scenario: `celery -A bench.peer_celery worker ...`.

Tuned as Celery's docs advise for many small fire-and-forget tasks: no result backend
(`task_ignore_result`), no remote control, events, gossip, mingle or heartbeat (the bench passes
`--without-gossip --without-mingle --without-heartbeat`), and the prefetch multiplier the bench
picks per workload. `workers` and `enqueuer` are the bench's side (`bench.peers`).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

from bench import peer_body

TASK = "peer.fetch"


def make_app(broker: str, queue: str) -> Celery:
    app = Celery("fanout-peer", broker=broker)
    app.conf.update(
        task_ignore_result=True,
        task_default_queue=queue,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_app(
    os.environ.get(peer_body.BROKER_ENV, "memory://"), os.environ.get(peer_body.QUEUE_ENV, "celery")
)


@app.task(name=TASK)
def fetch(url: str, workload: str, rounds: int, key: str, total: int) -> int:
    return peer_body.sync_task(url, workload, rounds, key, total)


def workers(
    name: str, queue: str, pool: str, concurrency: int, instances: int, prefetch: int
) -> tuple[peer_body.Commands, str]:
    """The bench's worker commands for a workload, and the note saying how they are tuned."""
    args = ["-m", "celery", "-A", "bench.peer_celery", "worker", "-P", pool]
    args += ["-c", str(concurrency), "--prefetch-multiplier", str(prefetch)]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
    nodes = [f"{name}{i}@%h" for i in range(instances)]
    commands: peer_body.Commands = [([*args, "-n", node, "-Q", queue], {}) for node in nodes]
    flags = f"-P {pool} -c {concurrency} --prefetch-multiplier {prefetch}"
    return commands, f"{instances} x `celery worker {flags}`"


def enqueuer(broker_url: str, queue: str) -> peer_body.Enqueue:
    app = make_app(broker_url, queue)

    def enqueue(arg_lists: list[tuple[Any, ...]]) -> None:
        with app.producer_or_acquire() as producer:
            for args in arg_lists:
                app.send_task(TASK, args=args, queue=queue, producer=producer)

    return enqueue
