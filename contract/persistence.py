"""Whether the Redis fanout runs on would keep queued work across a restart.

"No task is lost when Redis dies" holds only when Redis writes an append-only file: fanout's
embedded redis-server and the compose file turn it on, but a REDIS_URL a user brings may not.
Without it, a restart (measured with `--appendonly no`) deletes every run, queued job and worker
registration, and the workers' later writes find no run. So the web app, the workers and
`fanout up` read the settings and say plainly what a restart would lose. A managed Redis may
forbid CONFIG: then the verdict is "unknown", said as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

from contract.replies import text


class Durability(str, Enum):
    AOF = "aof"  # an append-only file: a restart loses at most the last fsync interval
    SNAPSHOTS = "snapshots"  # RDB snapshots only: a restart loses what came after the last one
    NONE = "none"  # nothing on disk: a restart loses everything
    UNKNOWN = "unknown"  # CONFIG is disabled or forbidden


MESSAGES = {
    Durability.AOF: "Redis keeps an append-only file: queued work survives a restart "
    "(with appendfsync {appendfsync}).",
    Durability.SNAPSHOTS: "Redis has no append-only file, only snapshots (save {save}): "
    "a restart loses every run and queued job since the last snapshot.",
    Durability.NONE: "Redis keeps nothing on disk (no append-only file, no snapshots): a "
    "restart loses every queued job, run record and worker registration.",
    Durability.UNKNOWN: "Redis does not let fanout read its persistence settings (CONFIG is "
    "disabled or forbidden): whether a restart loses queued work is unknown.",
}


@dataclass(frozen=True)
class Persistence:
    """What `CONFIG GET` said; None where it could not be read."""

    appendonly: str | None
    appendfsync: str | None
    save: str | None

    @property
    def durability(self) -> Durability:
        if self.appendonly is None:
            return Durability.UNKNOWN
        if self.appendonly == "yes":
            return Durability.AOF
        return Durability.SNAPSHOTS if (self.save or "").strip() else Durability.NONE

    @property
    def loses_queued_work(self) -> bool | None:
        """True when a restart would lose queued work; None when that cannot be known."""
        if self.durability is Durability.UNKNOWN:
            return None
        return self.durability is not Durability.AOF

    @property
    def message(self) -> str:
        return MESSAGES[self.durability].format(appendfsync=self.appendfsync, save=self.save)

    def to_dict(self) -> dict[str, object]:
        return {
            "durability": self.durability.value,
            "loses_queued_work_on_restart": self.loses_queued_work,
            "message": self.message,
            **asdict(self),
        }


def read_persistence(redis: Redis) -> Persistence:
    """Ask Redis. Connection errors propagate (the caller knows what an outage means there);
    a CONFIG that is renamed away or forbidden by an ACL gives the UNKNOWN verdict."""
    values: dict[str, str | None] = {}
    try:
        for name in ("appendonly", "appendfsync", "save"):  # one each: Redis 6 takes one name
            found: dict[Any, Any] = redis.config_get(name)
            raw = found.get(name, found.get(name.encode()))
            values[name] = text(raw)
    except ResponseError:  # "unknown command", NOPERM
        return Persistence(None, None, None)
    return Persistence(values["appendonly"], values["appendfsync"], values["save"])
