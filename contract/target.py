"""The worker target: how many workers each host should run, as the web app set it in Redis.

Written by the producer (`producer.scaling`, the sweeps), followed by every host's supervisor
(`worker.supervisor`): both read the target and the live hosts through here, and every
supervisor computes the same per-host share from them (`shares`), so no one hands shares out.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

from redis import Redis
from redis.typing import EncodableT, FieldT

from contract import keys
from contract.replies import members, text


class TargetMode(str, Enum):
    """`per_host`: every host runs n. `total`: n workers spread over the live hosts."""

    PER_HOST = "per_host"
    TOTAL = "total"


@dataclass(frozen=True)
class Target:
    mode: TargetMode
    n: int

    def to_dict(self) -> dict[FieldT, EncodableT]:
        """As JSON and the target's hash keep it."""
        return {"mode": self.mode.value, "n": self.n}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        return cls(TargetMode(data["mode"]), int(data["n"]))


def shares(target: Target, hosts: list[str]) -> dict[str, int]:
    """Workers per host. `total` n over h hosts: n // h each, and one more for the first n % h
    hosts in name order, so every supervisor computes the same split (a host may get none)."""
    ordered = sorted(set(hosts))
    if target.mode is TargetMode.PER_HOST:
        return {host: target.n for host in ordered}
    if not ordered:
        return {}
    base, extra = divmod(target.n, len(ordered))
    return {host: base + (1 if i < extra else 0) for i, host in enumerate(ordered)}


def read_target(redis: Redis) -> Target | None:
    """The target, or None when none was ever set (or it is unreadable)."""
    raw = redis.hgetall(keys.worker_target_key())
    if not raw:
        return None
    data = {text(k): text(v) for k, v in raw.items()}
    try:
        return Target.from_dict(data)
    except (KeyError, ValueError):
        return None


def write_target(redis: Redis, target: Target | None) -> None:
    """Set the target; None removes it (each supervisor goes back to its `--pool N`)."""
    pipe = redis.pipeline(transaction=True)
    pipe.delete(keys.worker_target_key())
    if target is not None:
        pipe.hset(keys.worker_target_key(), mapping=target.to_dict())
    pipe.execute()


def live_hosts(redis: Redis, *, now: float | None = None) -> list[str]:
    """Hosts whose supervisor beat within `keys.ALIVE_TTL_S`, in name order."""
    now = time.time() if now is None else now
    names = redis.zrangebyscore(keys.hosts_key(), now - keys.ALIVE_TTL_S, "+inf")
    return sorted(text(name) for name in members(names))


def read_host_info(redis: Redis, hosts: list[str]) -> dict[str, dict[str, Any]]:
    """What each of `hosts`' supervisors last said it runs (see `keys.host_info_key`)."""
    if not hosts:
        return {}
    info = {}
    for host, raw in zip(hosts, redis.hmget(keys.host_info_key(), hosts), strict=True):
        try:
            info[host] = json.loads(raw) if raw else {}
        except ValueError:
            info[host] = {}
    return info
