"""What `fanout up` and `fanout worker` say about the Redis they will use, before they start."""

from __future__ import annotations

from redis import Redis
from redis.exceptions import RedisError

from contract.persistence import read_persistence
from contract.settings import Settings


def persistence_line(settings: Settings) -> str:
    """One line: whether a Redis restart would lose queued work. The embedded redis-server is
    started by the stack itself, always with an append-only file, so it is not asked."""
    if settings.redis_url_is_default:
        return (
            "redis: the embedded redis-server keeps an append-only file: queued work survives "
            "a restart"
        )
    try:
        client = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2)
        persistence = read_persistence(client)
    except RedisError as exc:
        return f"redis: not reachable yet ({exc}); cannot tell whether it keeps queued work"
    prefix = "redis: " if persistence.loses_queued_work is False else "redis: WARNING: "
    return prefix + persistence.message
