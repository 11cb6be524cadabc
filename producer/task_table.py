"""The run page's task table, a page at a time: sorted by any column, filtered by state.

Every task is one row, whether it ended, is running or is still pending. The order is computed
from the run's columns (`producer.columns`), never from whole records, and only the page's rows
are read in full: a page of a 100,000-task run costs its rows, plus one sort of small keys.
`None` values sort last in either direction, by index; ties go by index, reversed with the
order (as the browser's table sorted them when it held every row).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True)
class _Candidates:
    """The rows a query may show, in three groups: ended (rows of the columns), running (their
    starts, by index) and pending (task indexes)."""

    view: TasksView
    rows: npt.NDArray[np.int64]
    running: dict[int, dict[str, Any]]
    run_list: list[int]
    pending: list[int]


def matching(view: TasksView, query: TableQuery, urls: Callable[[], Sequence[str]]) -> list[int]:
    """Task indexes of every row the query selects, in its order. `urls()` gives the run's
    URLs by index; it is called only to sort pending rows by URL.

    Vectorised (numpy) over the ended tasks: sorting 100,000 rows by duration is one lexsort.
    """
    columns = view.columns
    arrays = columns.arrays()
    running = {int(s["index"]): s for s in view.starts if columns.row_of(int(s["index"])) is None}
    if query.state is None:
        rows = np.arange(len(columns))
    elif query.state in (RUNNING, PENDING):
        rows = np.arange(0)
    else:
        rows = np.flatnonzero(arrays.state == STATES.index(query.state))
    run_list = list(running) if query.state in (None, RUNNING) else []
    pending = _pending(view, running) if query.state in (None, PENDING) else []
    indexes = np.concatenate(
        [arrays.task_index[rows], np.array(run_list, np.int64), np.array(pending, np.int64)]
    )
    sort = query.sort if query.sort in SORT_KEYS else "index"
    if sort == "index":
        order = np.sort(indexes)
        ordered: list[int] = (order[::-1] if query.descending else order).tolist()
        return ordered
    key = _keys(_Candidates(view, rows, running, run_list, pending), sort, urls)
    present = ~np.isnan(key)
    ranked = indexes[present][np.lexsort((indexes[present], key[present]))]
    if query.descending:
        ranked = ranked[::-1]
    missing = np.sort(indexes[~present])
    ordered = np.concatenate([ranked, missing]).tolist()
    return ordered


def _pending(view: TasksView, running: dict[int, Any]) -> list[int]:
    ended = np.zeros(view.total, dtype=bool)
    done = view.columns.arrays().task_index
    ended[done[done < view.total]] = True
    ended[[i for i in running if i < view.total]] = True
    return np.flatnonzero(~ended).tolist()


def _rank(values: Sequence[str]) -> dict[str, float]:
    """Each distinct text's place in sorted order: texts sort as numbers."""
    return {text: float(place) for place, text in enumerate(sorted(set(values)))}


def _keys(
    rows_in: _Candidates, sort: str, urls: Callable[[], Sequence[str]]
) -> npt.NDArray[np.float64]:
    """The sort key of every candidate row (ended, running, pending) as floats, NaN where a
    row has no value; texts by their place among all the rows' texts."""
    view, rows, running, run_list = rows_in.view, rows_in.rows, rows_in.running, rows_in.run_list
    if sort in ("url", "state", "lane"):
        texts = _texts(rows_in, sort, urls)
        places = _rank([text for text in texts if text is not None])
        return np.array([np.nan if t is None else places[t] for t in texts], np.float64)
    a = view.columns.arrays()
    t0 = view.t0 or 0.0
    if sort == "status":
        status = a.status[rows].astype(np.float64)
        ended = np.where(status < 0, np.nan, status)
    elif sort == "bytes":
        ended = a.size[rows].astype(np.float64)
    elif sort == "start":
        ended = a.started_at[rows] - t0
    elif sort == "duration":
        ended = a.finished_at[rows] - a.started_at[rows]
    else:  # cpu
        ended = a.cpu_s[rows]
    started = [
        float(running[i]["started_at"]) - t0 if sort == "start" else np.nan for i in run_list
    ]
    pending = np.full(len(rows_in.pending), np.nan)
    return np.concatenate([ended, np.array(started, np.float64), pending])


def _texts(rows_in: _Candidates, sort: str, urls: Callable[[], Sequence[str]]) -> list[str | None]:
    columns, rows, running = rows_in.view.columns, rows_in.rows, rows_in.running
    run_list, pending = rows_in.run_list, rows_in.pending
    picked = rows.tolist()
    if sort == "url":
        every = urls() if pending else []
        return [
            *(columns.url[r] for r in picked),
            *(str(running[i]["url"]) for i in run_list),
            *(every[i] if i < len(every) else "" for i in pending),
        ]
    if sort == "state":
        codes = columns.arrays().state[rows].tolist()
        return [STATES[c] for c in codes] + [RUNNING] * len(run_list) + [PENDING] * len(pending)
    names = [" / ".join(lane) if lane[0] else None for lane in columns.lanes]
    lanes = columns.arrays().lane[rows].tolist()
    return [
        *(names[lane] for lane in lanes),
        *(" / ".join(lane_of(running[i])) for i in run_list),
        *([None] * len(pending)),
    ]


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
