"""Setting the worker target, within bounds, and reading it back with what each host runs.

The hosts' supervisors do the scaling (`worker.supervisor`); this side only writes the target
(`contract.target`), so the web app scales compose's workers without the Docker socket.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from redis import Redis

from contract import fleet, keys
from contract.replies import text
from contract.target import (
    Target,
    TargetMode,
    live_hosts,
    read_host_info,
    read_target,
    shares,
    write_target,
)
from producer.validation import FleetConflict, InvalidInput, whole_number

#: The smallest target of each mode: a host may run no worker, but the whole fleet at least one
#: (a total of 0 would leave every queued job waiting with no sign why). The Workers page's
#: input takes its `min` from here.
MIN_TARGET = {TargetMode.PER_HOST: 0, TargetMode.TOTAL: 1}


class TargetLocked(RuntimeError):
    """A sweep owns the target until it ends."""


def check_target(target: Target, hosts: int, max_per_host: int) -> None:
    """Per host MIN_TARGET to `max_per_host`; a total of MIN_TARGET to hosts x `max_per_host`."""
    least = MIN_TARGET[target.mode]
    if target.mode is TargetMode.PER_HOST:
        if not least <= target.n <= max_per_host:
            raise InvalidInput("per_host", f"per_host must be from {least} to {max_per_host}")
        return
    if target.n < least:
        raise InvalidInput("total", f"total must be at least {least}")
    if hosts == 0:
        raise FleetConflict("total", "no host is live: start `fanout worker` first")
    most = hosts * max_per_host
    if target.n > most:
        raise FleetConflict(
            "total",
            f"total must be from {least} to {most} ({hosts} live host(s) x {max_per_host} at "
            "most each)",
        )


def parse_target(data: Any) -> Target:
    """`{"per_host": n}` or `{"total": n}`, exactly one, a whole number."""
    if not isinstance(data, dict):
        raise InvalidInput("target", 'send {"per_host": n} or {"total": n}')
    given = [mode for mode in TargetMode if mode.value in data]
    if len(given) != 1 or len(data) != 1:
        raise InvalidInput("target", 'send exactly one of {"per_host": n} or {"total": n}')
    mode = given[0]
    n = whole_number(data[mode.value])
    if n is None:
        raise InvalidInput(mode.value, f"{mode.value} must be a whole number")
    return Target(mode, n)


def set_target(redis: Redis, target: Target, max_per_host: int) -> None:
    """Check the bounds against the live hosts, then set it. A running sweep owns the target."""
    if redis.exists(keys.current_sweep_key()):
        raise TargetLocked("a scaling sweep is running; it restores the target when it ends")
    check_target(target, len(live_hosts(redis)), max_per_host)
    write_target(redis, target)


def live_per_host(redis: Redis, now: float | None = None) -> dict[str, int]:
    """Workers with a fresh heartbeat, by the host name their supervisor holds in the target."""
    lives = fleet.read_lives(redis, now=time.time() if now is None else now)
    return dict(Counter(life.supervisor for life in lives if not life.gone))


def target_overview(redis: Redis, max_per_host: int) -> dict[str, Any]:
    """The target (null if never set), and for each live host its share, the workers live on
    it, and what its supervisor runs (`running`, `stopping`)."""
    target = read_target(redis)
    hosts = live_hosts(redis)
    share = shares(target, hosts) if target is not None else {}
    info = read_host_info(redis, hosts)
    live = live_per_host(redis)
    rows = [
        {
            "host": host,
            "share": share.get(host, info[host].get("pool")),
            "live": live.get(host, 0),
            "running": info[host].get("running"),
            "stopping": info[host].get("stopping", 0),
            "max": info[host].get("max"),
        }
        for host in hosts
    ]
    return {
        "target": target.to_dict() if target is not None else None,
        "hosts": rows,
        "live": sum(row["live"] for row in rows),
        "max_per_host": max_per_host,
        "min": {mode.value: least for mode, least in MIN_TARGET.items()},
        "sweep": text(redis.get(keys.current_sweep_key())),
    }
