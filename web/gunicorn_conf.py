"""gunicorn settings for `fanout web`: metrics of exited processes are let go, Redis's
persistence is said at start, and slow clients are cut off.

Slow clients: gunicorn's `keepalive` (2 s, its default) bounds the wait for a request's headers
and for the next request on a kept-alive connection, so a silent connection, one dribbling its
headers or one idle after an answer closes within it; a request's body must arrive within
FANOUT_WEB_BODY_TIMEOUT_S of its headers (`web.body_deadline`).
"""

from __future__ import annotations

import os
from typing import Any

#: `FANOUT_WEB_BODY_TIMEOUT_S` when not set: seconds a request's whole body may take to arrive.
DEFAULT_BODY_TIMEOUT_S = 30.0


def body_timeout_s(env: dict[str, str] | None = None) -> float:
    """FANOUT_WEB_BODY_TIMEOUT_S, read when gunicorn loads this file: a bad value stops the
    server's start with a message."""
    raw = (os.environ if env is None else env).get("FANOUT_WEB_BODY_TIMEOUT_S", "").strip()
    if not raw:
        return DEFAULT_BODY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"FANOUT_WEB_BODY_TIMEOUT_S must be a number, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"FANOUT_WEB_BODY_TIMEOUT_S must be above 0, got {raw!r}")
    return value


BODY_TIMEOUT_S = body_timeout_s()

#: Seconds a connection may wait for a request's headers, or between requests (gunicorn's).
keepalive = 2


def child_exit(server: Any, worker: Any) -> None:
    """prometheus_client's multiprocess mode keeps a file per process; a dead one's gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """At start (in the first worker only), say whether a restart of the Redis behind the app
    would lose queued work. In a worker, not the master: the master must not import redis (and
    ssl) before gevent patches the workers it forks ("Monkey-patching ssl after ssl has already
    been imported may lead to errors")."""
    if worker.age != 1:
        return
    from redis import Redis
    from redis.exceptions import RedisError

    from contract.persistence import read_persistence
    from contract.settings import Settings

    try:
        url = Settings.from_env().redis_url
        persistence = read_persistence(Redis.from_url(url, socket_connect_timeout=2))
    except (RedisError, ValueError) as exc:
        worker.log.warning("cannot read Redis's persistence settings yet: %s", exc)
        return
    log = worker.log.info if persistence.loses_queued_work is False else worker.log.warning
    log("%s", persistence.message)


def pre_request(worker: Any, req: Any) -> None:
    """Bound the time the request's body may take (in the worker, after gevent patched it)."""
    from web.body_deadline import DeadlineBody

    req.body = DeadlineBody(req, BODY_TIMEOUT_S)


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """The request is answered: a body deadline that passes now only closes the connection."""
    body: Any = getattr(req, "body", None)
    if hasattr(body, "answered"):
        body.answered = True
