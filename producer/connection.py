"""The Redis client and RQ queue the producer side uses, built from settings."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from contract import connection, keys
from contract.settings import Settings


def connect(settings: Settings) -> Redis:
    return connection.connect(settings.redis_url)


def fanout_queue(redis: Redis) -> Queue:
    """fanout's RQ queue, with the JSON serializer: jobs carry ids and primitives, never pickle."""
    return Queue(keys.QUEUE_NAME, connection=redis, serializer=JSONSerializer)
