"""fanout's Redis scripts: `.lua` files kept beside the code that runs them, each opening with
the KEYS and ARGV it takes, run through redis-py's `Script` (EVALSHA; redis-py loads the text
again when the server answers NOSCRIPT, as after a restart)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from redis import Redis
from redis.commands.core import Script


@cache
def _text(package: str, name: str) -> str:
    return resources.files(package).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def register(redis: Redis, package: str, name: str) -> Script:
    """`<package>/lua/<name>.lua`, registered on `redis` (a client or a pipeline). Registering
    reads the file once per process and hashes the text: no round trip."""
    return redis.register_script(_text(package, name))
