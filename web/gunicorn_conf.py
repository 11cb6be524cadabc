"""gunicorn settings for `fanout web`: metrics of exited processes are let go."""

from __future__ import annotations


def child_exit(server, worker) -> None:
    """prometheus_client's multiprocess mode keeps a file per process; a dead one's gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
