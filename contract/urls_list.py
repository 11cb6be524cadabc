"""A run's URLs in Redis: one list by index, apart from the run's hash.

A run holds up to 100,000 URLs (about 3 MB); kept in the hash, every read of the run's state
read them all. In a list, a summary reads none and a page of tasks reads its slice (LRANGE).
The runs of a comparison share their comparison's list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis

from contract import keys
from contract.replies import text

#: URLs per RPUSH when storing: bounded commands, however long the batch.
PUSH_CHUNK = 10_000


def store(pipe: Any, owner_id: str, urls: Sequence[str], ttl_s: int) -> None:
    """Queue the writes of the list on a pipeline (the caller's transaction)."""
    key = keys.urls_key(owner_id)
    pipe.delete(key)
    for start in range(0, len(urls), PUSH_CHUNK):
        pipe.rpush(key, *urls[start : start + PUSH_CHUNK])
    pipe.expire(key, ttl_s)


def read(redis: Redis, owner_id: str, start: int = 0, stop: int | None = None) -> list[str]:
    """URLs with index in [start, stop) (stop None: to the end)."""
    last = -1 if stop is None else stop - 1
    if stop is not None and stop <= start:
        return []
    return [text(u) for u in redis.lrange(keys.urls_key(owner_id), start, last)]


def read_at(redis: Redis, owner_id: str, indexes: Sequence[int]) -> list[str]:
    """The URLs at these indexes (a page's pending rows), in one round trip."""
    if not indexes:
        return []
    pipe = redis.pipeline(transaction=False)
    for index in indexes:
        pipe.lindex(keys.urls_key(owner_id), index)
    return [text(u) or "" for u in pipe.execute()]
