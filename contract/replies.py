"""redis-py's replies, typed as what fanout's calls get back.

redis-py 8.1 annotates a ZRANGE-family reply for every way of calling it: members, or (member,
score) pairs as tuples or as lists (`redis.typing.ZSetRangeResponse`). Which one comes back is
decided by the call (`withscores`), not by the type checker, so each caller would need a cast.
These two say it once, for mypy strict; they return the reply untouched (no copy, no check).
`tests/test_replies.py` holds them to what a real redis-server answers. `text` decodes a reply
that may come as bytes (a client without `decode_responses`) or str.
"""

from __future__ import annotations

from typing import cast, overload

from redis.typing import ZSetRangeResponse


def members(reply: ZSetRangeResponse) -> list[bytes | str]:
    """A ZRANGE / ZREVRANGE reply asked without `withscores`: the members, in order."""
    return cast("list[bytes | str]", reply)


def scored(reply: ZSetRangeResponse) -> list[tuple[bytes | str, float]]:
    """A ZRANGE / ZREVRANGE reply asked `withscores=True` (and redis-py's default
    `score_cast_func=float`): (member, score) tuples, in order."""
    return cast("list[tuple[bytes | str, float]]", reply)


@overload
def text(value: bytes | str) -> str: ...
@overload
def text(value: bytes | str | None) -> str | None: ...
def text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value
