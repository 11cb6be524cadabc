"""The Celery app of the peers scenario: `celery -A bench.peer_celery worker ...`.

Tuned as Celery's docs advise for many small fire-and-forget tasks: no result backend
(`task_ignore_result`), no remote control, events, gossip, mingle or heartbeat (the bench passes
`--without-gossip --without-mingle --without-heartbeat`), and the prefetch multiplier the bench
picks per workload.
"""

from __future__ import annotations

import os

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
