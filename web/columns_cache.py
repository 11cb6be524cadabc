"""The columns of the runs being looked at, kept in each web process (`producer.columns`).

A run's page polls its table and timeline; each poll extends the columns by the tasks that ended
since the last (one LRANGE when nothing did), so a live 100,000-task run is read once, not once
per poll. What is derived from a finished run's columns (a sort order, a timeline view) is kept
beside them: nothing in a finished run changes but its expiry.

Bounded: at most `MAX_TASKS` tasks over all runs (about 150 bytes each), least recently used
first out. One lock per run: gunicorn serves a process's requests from several greenlets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Flask, current_app
from redis import Redis

from contract import keys
from contract.replies import text
from contract.states import RunState
from producer.columns import RunColumns, time_origin
from producer.reader import RunNotFound, read_running
from producer.task_table import TasksView

EXTENSION = "fanout_columns"

#: Tasks kept over all runs: about 60 MB per process at the most.
MAX_TASKS = 400_000
#: Derived answers kept per finished run (sort orders, zoomed timelines).
MAX_DERIVED = 16

T = TypeVar("T")


@dataclass
class _Entry:
    columns: RunColumns
    lock: threading.Lock = field(default_factory=threading.Lock)
    derived: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class RunView:
    """A run's tasks as of this request, and where its URLs are."""

    tasks: TasksView
    urls_owner: str
    finished: bool
    entry: _Entry

    def derive(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, kept for a finished run (whose answer cannot change)."""
        if not self.finished:
            return compute()
        derived = self.entry.derived
        with self.entry.lock:
            if key in derived:
                derived.move_to_end(key)
                cached: T = derived[key]
                return cached
        value = compute()
        with self.entry.lock:
            derived[key] = value
            while len(derived) > MAX_DERIVED:
                derived.popitem(last=False)
        return value


class ColumnsCache:
    def __init__(self, max_tasks: int = MAX_TASKS) -> None:
        self.max_tasks = max_tasks
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, redis: Redis, run_id: str) -> RunView:
        """The run's tasks now: the columns extended by what ended since the last read.

        Starts are read before the columns: a task that ends in between is then in both (and
        shown as ended), never in neither."""
        raw = redis.hmget(keys.run_key(run_id), "total", "state", "urls_owner")
        if raw[0] is None:
            with self._lock:
                self._entries.pop(run_id, None)
            raise RunNotFound(run_id)
        total = int(raw[0])
        finished = text(raw[1]) == RunState.DONE.value
        owner = text(raw[2]) or run_id  # whose list holds the URLs: its comparison's, or its own
        entry = self._entry(run_id)
        starts = read_running(redis, run_id)
        with entry.lock:
            if entry.columns.extend(redis):
                entry.derived.clear()
        columns = entry.columns
        self._trim()
        view = TasksView(columns, starts, total, time_origin(columns, starts))
        done = finished and not starts and len(columns) >= total
        return RunView(view, owner, done, entry)

    def _entry(self, run_id: str) -> _Entry:
        with self._lock:
            entry = self._entries.get(run_id)
            if entry is None:
                entry = self._entries[run_id] = _Entry(RunColumns(run_id))
            self._entries.move_to_end(run_id)
            return entry

    def _trim(self) -> None:
        """Least recently used runs out until the rest fit (the newest always stays)."""
        with self._lock:
            held = sum(len(entry.columns) for entry in self._entries.values())
            while held > self.max_tasks and len(self._entries) > 1:
                _, entry = self._entries.popitem(last=False)
                held -= len(entry.columns)


def init_columns_cache(app: Flask) -> None:
    app.extensions[EXTENSION] = ColumnsCache(app.config.get("COLUMNS_MAX_TASKS", MAX_TASKS))


def get_columns_cache() -> ColumnsCache:
    cache: ColumnsCache = current_app.extensions[EXTENSION]
    return cache
