"""gunicorn settings for `fanout web`: metrics of exited processes are let go, and Redis's
persistence is said at start."""

from __future__ import annotations


def child_exit(server, worker) -> None:
    """prometheus_client's multiprocess mode keeps a file per process; a dead one's gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """At start (in the first worker only), say whether a restart of the Redis behind the app
    would lose queued work. In a worker, not the master: the master must not import redis (and
    ssl) before gevent patches the workers it forks ("Monkey-patching ssl after ssl has already
    been imported may lead to errors")."""
    if worker.age != 1:
        return
    server = worker
    from redis import Redis
    from redis.exceptions import RedisError

    from contract.persistence import read_persistence
    from contract.settings import Settings

    try:
        url = Settings.from_env().redis_url
        persistence = read_persistence(Redis.from_url(url, socket_connect_timeout=2))
    except (RedisError, ValueError) as exc:
        server.log.warning("cannot read Redis's persistence settings yet: %s", exc)
        return
    log = server.log.info if persistence.loses_queued_work is False else server.log.warning
    log("%s", persistence.message)
