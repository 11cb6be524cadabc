"""Every live host's process tree, as its supervisor last published it (`worker.proctree`).

Read by `fanout ps` and the Workers page (`GET /api/workers/tree`). A host is listed if its
supervisor beats (`contract.target.live_hosts`) and its snapshot has not expired: a snapshot
lives `keys.PROC_TREE_TTL_S` after its last publication.
"""

from __future__ import annotations

import json
import re
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


#: What a tree's process is, by its role (a worker's label names the worker).
ROLE_LABELS = {"scheduler": "RQ scheduler", "horse": "work-horse (one job)", "child": "pool child"}


def process_label(process: dict[str, Any]) -> str:
    """What a process is, for `fanout ps` and the Workers page alike."""
    role = str(process.get("role"))
    if role == "worker":
        return f"worker {short_worker(process.get('worker'))}"
    return ROLE_LABELS.get(role) or process.get("cmd") or process.get("name") or "?"


def host_counts(tree: dict[str, Any]) -> tuple[int, int]:
    """(workers, children) of a host's tree: a work-horse counts as a child."""
    roles = [process.get("role") for process in tree["processes"]]
    return roles.count("worker"), sum(role in ("child", "horse") for role in roles)


def keeps_idle_children(trees: dict[str, Any]) -> bool:
    """Whether a host shows pool children kept idle after a job: `KEPT_IDLE_NOTE` says why."""
    return any(
        p.get("role") == "child" and p.get("state") == "idle"
        for tree in trees["hosts"]
        for p in tree["processes"]
    )


#: RQ's pool names its workers by a 32-digit uuid: 8 digits tell them apart.
_WORKER_ID = re.compile(r"[0-9A-Za-z]{32}")


def short_worker(name: str | None) -> str:
    """A worker's name as `fanout ps` and the pages show it ("" for none)."""
    if not name:
        return ""
    return name[:8] if _WORKER_ID.fullmatch(name) else name
