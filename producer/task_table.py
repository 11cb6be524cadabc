"""The run page's task table, a page at a time: sorted by any column, filtered by state.

Every task is one row, whether it ended, is running or is still pending. The order is computed
from the run's columns (`producer.columns`), never from whole records, and only the page's rows
are read in full: a page of a 100,000-task run costs its rows, plus one sort of small keys.
`None` values sort last in either direction, by index; ties go by index, reversed with the
order (as the browser's table sorted them when it held every row).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from contract.states import TaskState
from producer.columns import STATES, RunColumns, lane_of

#: Sortable columns.
SORT_KEYS = ("index", "url", "state", "status", "bytes", "start", "duration", "cpu", "lane")

RUNNING = TaskState.RUNNING.value
PENDING = TaskState.PENDING.value


@dataclass(frozen=True)
class TableQuery:
    """Which rows, in which order: `state` None means every state."""

    sort: str = "index"
    descending: bool = False
    state: str | None = None
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class TasksView:
    """What the table is drawn from: the ended tasks, the running ones, the run's size."""

    columns: RunColumns
    starts: Sequence[dict[str, Any]]
    total: int
    t0: float | None


def matching(view: TasksView, query: TableQuery, urls: Callable[[], Sequence[str]]) -> list[int]:
    """Task indexes of every row the query selects, in its order. `urls()` gives the run's
    URLs by index; it is called only to sort pending rows by URL."""
    columns = view.columns
    running = {int(s["index"]): s for s in view.starts if columns.row_of(int(s["index"])) is None}
    ended_rows: Sequence[int]
    if query.state is None:
        ended_rows = range(len(columns))
    elif query.state in (RUNNING, PENDING):
        ended_rows = ()
    else:
        code = STATES.index(query.state)
        ended_rows = [row for row in range(len(columns)) if columns.state[row] == code]
    wants_running = query.state in (None, RUNNING)
    wants_pending = query.state in (None, PENDING)
    if query.sort == "index" or query.sort not in SORT_KEYS:
        chosen = [columns.index[r] for r in ended_rows]
        if wants_running:
            chosen += running
        if wants_pending:
            chosen += _pending(view, running)
        chosen.sort(reverse=query.descending)
        return chosen
    keyed: list[tuple[Any, int]] = []
    missing: list[int] = []
    ended_key = _ended_key(view, query.sort)
    for row in ended_rows:
        _place(keyed, missing, ended_key(row), columns.index[row])
    if wants_running:
        for task_index, start in running.items():
            _place(keyed, missing, _running_key(view, query.sort, start), task_index)
    if wants_pending:
        pending = _pending(view, running)
        if query.sort == "url":
            all_urls = urls()
            keyed += [(all_urls[i], i) for i in pending if i < len(all_urls)]
        elif query.sort == "state":
            keyed += [(PENDING, i) for i in pending]
        else:
            missing += pending
    keyed.sort(reverse=query.descending)
    missing.sort()
    return [task_index for _, task_index in keyed] + missing


def _place(keyed: list[tuple[Any, int]], missing: list[int], value: Any, task_index: int) -> None:
    if value is None:
        missing.append(task_index)
    else:
        keyed.append((value, task_index))


def _pending(view: TasksView, running: dict[int, Any]) -> list[int]:
    ended = bytearray(view.total)
    for task_index in view.columns.index:
        if task_index < view.total:
            ended[task_index] = 1
    for task_index in running:
        if task_index < view.total:
            ended[task_index] = 1
    return [i for i, seen in enumerate(ended) if not seen]


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _ended_key(view: TasksView, sort: str) -> Callable[[int], Any]:
    c = view.columns
    t0 = view.t0 or 0.0
    if sort == "url":
        return lambda r: c.url[r]
    if sort == "state":
        return lambda r: STATES[c.state[r]]
    if sort == "status":
        return lambda r: None if c.status[r] < 0 else c.status[r]
    if sort == "bytes":
        return lambda r: c.size[r]
    if sort == "start":
        return lambda r: _number(c.started_at[r] - t0)
    if sort == "duration":
        return lambda r: _number(c.finished_at[r] - c.started_at[r])
    if sort == "cpu":
        return lambda r: _number(c.cpu_s[r])
    lane_keys = [" / ".join(lane) if lane[0] else None for lane in c.lanes]
    return lambda r: lane_keys[c.lane[r]]


def _running_key(view: TasksView, sort: str, start: dict[str, Any]) -> Any:
    if sort == "url":
        return start["url"]
    if sort == "state":
        return RUNNING
    if sort == "start":
        return float(start["started_at"]) - (view.t0 or 0.0)
    if sort == "lane":
        return " / ".join(lane_of(start))
    return None


def page_tasks(
    view: TasksView, task_indexes: Sequence[int], urls_at: Callable[[list[int]], list[str]]
) -> list[dict[str, Any]]:
    """The records of one page's tasks, as the reader gives them: ended tasks whole, running
    ones as their start, pending ones as index, URL and state. `urls_at(indexes)` reads the
    pending rows' URLs."""
    running = {int(s["index"]): s for s in view.starts}
    found: dict[int, dict[str, Any]] = {}
    pending: list[int] = []
    for task_index in task_indexes:
        row = view.columns.row_of(task_index)
        if row is not None:
            found[task_index] = view.columns.task(row)
        elif task_index in running:
            found[task_index] = {**running[task_index], "state": RUNNING}
        else:
            pending.append(task_index)
    for task_index, url in zip(pending, urls_at(pending), strict=True):
        found[task_index] = {"index": task_index, "url": url, "state": PENDING}
    return [found[i] for i in task_indexes]
