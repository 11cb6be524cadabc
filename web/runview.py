"""The run page's task table and timeline, as the page and the API both serve them.

The server renders the first page of rows (read without JavaScript); run.js fetches the same
rows from `/api/runs/<id>/tasks` as the user pages, sorts or filters, so both agree. Neither
holds the run's tasks: a page is `limit` rows whatever the run's size (`producer.task_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from redis import Redis

from contract import urls_list
from contract.states import TaskState
from producer.task_table import TableQuery, TasksView, matching, page_tasks
from producer.timeline import MAX_BARS, Window, timeline
from web.columns_cache import get_columns_cache
from web.formats import lane, short_lane
from web.runnotes import worded

#: Rows per page, and the most one request may ask for.
PAGE_ROWS = 100
MAX_PAGE_ROWS = 1000

#: A stretch with none of a run's tasks running that is shorter than this is a worker taking its
#: next task or job, not a pause.
PAUSE_MIN_S = 1.0

#: The states a table may be filtered by.
STATE_FILTERS = tuple(state.value for state in TaskState)


@dataclass(frozen=True)
class Table:
    """One page of the table and what it was cut from."""

    query: TableQuery
    rows: list[dict[str, Any]]
    matched: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "sort": self.query.sort,
            "order": "desc" if self.query.descending else "asc",
            "state": self.query.state,
            "offset": self.query.offset,
            "limit": self.query.limit,
            "matched": self.matched,
            "total": self.total,
            "rows": self.rows,
        }


def table_row(task: dict[str, Any], t0: float | None) -> dict[str, Any]:
    """A task (ended, running or pending) as a row of the table; times from the first start."""
    started = task.get("started_at")
    return {
        "index": task["index"],
        "url": task["url"],
        "state": task["state"],
        "status": task.get("status_code"),
        "bytes": task.get("bytes"),
        "start": started - t0 if started is not None and t0 is not None else None,
        "duration": task.get("duration_s"),
        "cpu": task.get("cpu_s"),
        "lane": lane(task),
        "lane_label": short_lane(task),
        "attempt": task.get("attempt"),
        "error": task.get("error"),
    }


def table(redis: Redis, run_id: str, query: TableQuery) -> Table:
    """One page of the run's task table. Raises RunNotFound."""
    view = get_columns_cache().view(redis, run_id)
    tasks = view.tasks

    def all_urls() -> list[str]:
        return urls_list.read(redis, view.urls_owner)

    def urls_at(indexes: list[int]) -> list[str]:
        return urls_list.read_at(redis, view.urls_owner, indexes)

    key = ("order", query.sort, query.descending, query.state)
    order = view.derive(key, lambda: matching(tasks, query, all_urls))
    chosen = order[query.offset : query.offset + query.limit]
    rows = [table_row(task, tasks.t0) for task in page_tasks(tasks, chosen, urls_at)]
    return Table(query, rows, len(order), tasks.total)


def run_notes(tasks: TasksView, now: float) -> dict[str, Any]:
    """How the run went beyond its figures, for the run page's notes (web.runnotes):
    `reruns`, its tasks run more than once (their worker stopped before they ended: a restart
    or a crash; `attempt` > 1), and `paused_s`, the time between its first start and its last
    end (or now) in which none of its tasks was running, in stretches of PAUSE_MIN_S or more:
    time its wall time includes though no worker was running the run."""
    columns = tasks.columns
    a = columns.arrays()
    running = [s for s in tasks.starts if columns.row_of(int(s["index"])) is None]
    reruns = int((np.array(columns.attempt, dtype=np.int64) > 1).sum())
    reruns += sum(1 for s in running if (s.get("attempt") or 1) > 1)
    timed = ~(np.isnan(a.started_at) | np.isnan(a.finished_at))
    begin = np.concatenate([a.started_at[timed], [float(s["started_at"]) for s in running]])
    end = np.concatenate([a.finished_at[timed], [now] * len(running)])
    paused = 0.0
    if len(begin) > 1:
        order = np.argsort(begin, kind="stable")
        reached = np.maximum.accumulate(end[order])[:-1]  # the latest end before each start
        gaps = begin[order][1:] - reached
        paused = float(gaps[gaps >= PAUSE_MIN_S].sum())
    return {"reruns": reruns, "paused_s": paused}


def notes_view(redis: Redis, run_id: str, now: float) -> dict[str, Any]:
    """`run_notes` of a run, kept once it is finished. Raises RunNotFound."""
    view = get_columns_cache().view(redis, run_id)
    return view.derive(("notes",), lambda: run_notes(view.tasks, now))


def timeline_view(
    redis: Redis, run_id: str, now: float, window: Window | None, since: int | None
) -> dict[str, Any]:
    """The run's timeline as the page draws it, with each lane's label. Raises RunNotFound."""
    view = get_columns_cache().view(redis, run_id)
    if since is not None and (view.finished or len(view.tasks.columns) > MAX_BARS):
        since = None  # the whole answer either way (bins, or every bar): the cached one
    if since is None:
        data = view.derive(("timeline", window), lambda: timeline(view.tasks, now, window))
    else:
        data = timeline(view.tasks, now, window, since)
    lanes = [
        dict(zip(("host", "worker", "pid", "thread"), lane_, strict=True))
        for lane_ in data["lanes"]
    ]
    return data | {
        "lanes": [lane(item) for item in lanes],
        "lane_labels": [short_lane(item) for item in lanes],
        "final": view.finished,
        "notes": worded(view.derive(("notes",), lambda: run_notes(view.tasks, now))),
    }
