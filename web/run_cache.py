"""Finished runs kept in each web process, so re-reading one does not parse and summarize its
thousands of task records again (`load_run` of a big run takes tens of milliseconds).

A run in state `done` changes only by its `duplicates` counter (a zombie worker's late write
counts there; the first writer keeps the record) and by expiring. So every read asks Redis one
cheap question, `HMGET <run> state done duplicates`, and a cached record is served only while
the answer is the one it was read under: a bumped counter or an expired run is never served
stale. Running runs are never cached. The same answer gives the ETag, alike in every process.

Bounded: at most `MAX_ENTRIES` records and `MAX_TASKS` task records in all (about 2 KB each in
memory); a record bigger than that alone is not kept. Least recently used goes first. One lock
around the dict: gunicorn serves each process's requests from several threads. Cached records
are shared between requests, so callers must not change them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from redis import Redis

from contract.keys import run_key
from contract.replies import text
from contract.states import RunState

EXTENSION = "fanout_run_cache"

MAX_ENTRIES = 16
#: About 20 MB of parsed task records per process.
MAX_TASKS = 10_000

#: The query a record was read for: (include_tasks, since, offset, limit).
Variant = tuple[bool, int | None, int, int]


@dataclass(frozen=True)
class Version:
    """A run's answer to the one HMGET; all None when the run does not exist (or expired)."""

    state: str | None
    done: str | None
    duplicates: str | None
    #: Set once a worker has finalized the ended run (its peak, capacity and host load kept).
    finalized: str | None = None

    @property
    def finished(self) -> bool:
        """Ended and finalized: nothing in its record changes any more."""
        return self.state == RunState.DONE.value and self.finalized is not None

    def matches(self, record: dict[str, Any]) -> bool:
        """The record was read at this version, not before or after a change."""
        return bool(
            record["state"] == self.state and record["duplicates"] == int(self.duplicates or 0)
        )


def run_version(redis: Redis, run_id: str) -> Version:
    values = redis.hmget(run_key(run_id), "state", "done", "duplicates", "served_workers")
    return Version(*(text(v) for v in values))


def etag(run_id: str, version: Version, variant: Variant) -> str:
    """The same run, counters and query give the same tag in every process; use it as a weak
    tag, since bodies differ by their `now`."""
    parts = (run_id, version.done, version.duplicates, version.finalized, *variant)
    text = "\0".join(str(part) for part in parts)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _cost(record: dict[str, Any]) -> int:
    return 1 + len(record.get("tasks", ()))


class RunCache:
    """LRU of finished runs' records, keyed by (run id, variant), each kept with its Version."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_tasks: int = MAX_TASKS) -> None:
        self.max_entries = max_entries
        self.max_tasks = max_tasks
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, Variant], tuple[Version, dict[str, Any]]] = (
            OrderedDict()
        )
        self._tasks = 0
        self._lock = threading.Lock()

    def get(self, run_id: str, variant: Variant, version: Version) -> dict[str, Any] | None:
        """The record cached at exactly `version`; an entry read at another one is dropped."""
        key = (run_id, variant)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1]
            if entry is not None:
                self._drop(key)
            self.misses += 1
            return None

    def put(self, run_id: str, variant: Variant, version: Version, record: dict[str, Any]) -> None:
        """Keep a finished run's record read at `version` (others are not kept)."""
        cost = _cost(record)
        if not (version.finished and version.matches(record)) or cost > self.max_tasks:
            return
        key = (run_id, variant)
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (version, record)
            self._tasks += cost
            while len(self._entries) > self.max_entries or self._tasks > self.max_tasks:
                self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: tuple[str, Variant]) -> None:
        _, record = self._entries.pop(key)
        self._tasks -= _cost(record)


def init_run_cache(app: Flask) -> None:
    """One cache per app: tests build several apps in one process, each on its own Redis."""
    app.extensions[EXTENSION] = RunCache()


def get_run_cache() -> RunCache:
    cache: RunCache = current_app.extensions[EXTENSION]
    return cache
