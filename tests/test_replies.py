"""`contract.replies` casts redis-py's reply unions without looking: this holds each cast to what
a real redis-server answers through fanout's own client (`contract.connection`), so a redis-py
upgrade that changes a reply's shape fails here, not as a wrong type deep in a page."""

from __future__ import annotations

import uuid

from contract import replies
from contract.connection import connect


def test_sorted_set_replies_have_the_shapes_the_casts_claim(redis_url):
    client = connect(redis_url)
    key = f"test-replies-{uuid.uuid4().hex}"
    client.zadd(key, {"a": 1.5, "b": 2})
    try:
        assert replies.members(client.zrange(key, 0, -1)) == [b"a", b"b"]
        assert replies.members(client.zrevrange(key, 0, -1)) == [b"b", b"a"]
        pairs = replies.scored(client.zrange(key, 0, -1, withscores=True))
        assert pairs == [(b"a", 1.5), (b"b", 2.0)]
        assert all(type(pair) is tuple and type(pair[1]) is float for pair in pairs)
    finally:
        client.delete(key)
        client.close()
