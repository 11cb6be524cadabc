"""Every live host's process tree, as its supervisor last published it (`worker.proctree`).

Read by `fanout ps` and the Workers page (`GET /api/workers/tree`). A host is listed if its
supervisor beats (`contract.target.live_hosts`) and its snapshot has not expired: a snapshot
lives `keys.PROC_TREE_TTL_S` after its last publication.
"""

from __future__ import annotations

import json
import time
from typing import Any

from redis import Redis

from contract import keys
from contract.target import live_hosts

#: Why pool children outlive the job: said where the tree is shown.
KEPT_IDLE_NOTE = (
    "A worker keeps its pool's children after a processes job: idle, they wait for the next "
    "one, and go when a job needs another pool size or the worker stops."
)


def read_trees(redis: Redis, *, now: float | None = None) -> dict[str, Any]:
    """{now, hosts: [snapshot, ...]}, hosts in name order; a host whose snapshot is missing
    or unreadable is left out."""
    now = time.time() if now is None else now
    hosts = live_hosts(redis, now=now)
    trees = []
    if hosts:
        for raw in redis.mget([keys.proc_tree_key(host) for host in hosts]):
            if not raw:
                continue
            try:
                tree = json.loads(raw)
            except ValueError:
                continue
            if isinstance(tree, dict) and isinstance(tree.get("processes"), list):
                trees.append(tree)
    return {"now": now, "hosts": trees}


def short_worker(name: str | None) -> str:
    """RQ's pool names its workers by a 32-digit uuid: its first 8 digits are enough."""
    if not name:
        return ""
    return name[:8] if len(name) == 32 else name
