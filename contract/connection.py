"""The one way fanout opens a Redis client, with one set of timeouts for every process.

* `socket_connect_timeout=2`: loopback or a LAN connects in milliseconds; two seconds means
  Redis is down, and the caller's own retry (a worker's backoff, a page's 503) takes over.
* `socket_timeout=10`: above the longest blocking call fanout makes (a worker's BLMOVE waits
  1 s at a time, see `worker.process`; a producer's XREAD BLOCK at most 5 s, see
  `producer.wait`), so only a Redis that stopped answering trips it.
* `health_check_interval=30`: a connection idle that long is PINGed before reuse, so a Redis
  restart is noticed at the next call rather than as a broken pipe mid-write.
"""

from __future__ import annotations

from redis import Redis

SOCKET_TIMEOUT_S = 10


def connect(redis_url: str) -> Redis:
    return Redis.from_url(
        redis_url,
        socket_connect_timeout=2,
        socket_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=30,
    )
