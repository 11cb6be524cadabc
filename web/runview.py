"""A run record as the pages draw it: one row per task (ended, running or pending), sorted.

The browser's run.js builds the same rows from the same JSON, so the server-rendered table (read
without JavaScript) and the live one agree.
"""

from __future__ import annotations

from typing import Any

from contract.states import TaskState
from web.formats import lane, short_lane
from web.presentation import DASH

#: Sortable columns: name -> key of a row. `None` values sort last in either direction.
SORT_KEYS = ("index", "url", "state", "status", "bytes", "start", "duration", "cpu", "lane")


def time_origin(run: dict[str, Any]) -> float | None:
    """The first start of any task: the timeline's zero."""
    starts = [t["started_at"] for t in run.get("tasks", []) if t.get("started_at") is not None]
    starts += [s["started_at"] for s in run.get("running", [])]
    return min(starts) if starts else None


def task_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Every task of the run by index: ended ones, then running, then pending."""
    t0 = time_origin(run)
    rows: dict[int, dict[str, Any]] = {}
    for task in run.get("tasks", []):
        started = task.get("started_at")
        rows[task["index"]] = {
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
            "attempt": task.get("attempt", 1),
            "error": task.get("error"),
        }
    for start in run.get("running", []):
        rows.setdefault(
            start["index"],
            {
                "index": start["index"],
                "url": start["url"],
                "state": TaskState.RUNNING.value,
                "status": None,
                "bytes": None,
                "start": start["started_at"] - t0 if t0 is not None else None,
                "duration": None,
                "cpu": None,
                "lane": lane(start),
                "lane_label": short_lane(start),
                "attempt": start.get("attempt", 1),
                "error": None,
            },
        )
    for index, url in enumerate(run["spec"]["urls"]):
        rows.setdefault(
            index,
            {
                "index": index,
                "url": url,
                "state": TaskState.PENDING.value,
                "status": None,
                "bytes": None,
                "start": None,
                "duration": None,
                "cpu": None,
                "lane": DASH,
                "lane_label": DASH,
                "attempt": None,
                "error": None,
            },
        )
    return [rows[index] for index in sorted(rows)]


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Sort by one column; rows without a value go last whichever the direction."""
    if key not in SORT_KEYS:
        return rows
    present = [row for row in rows if row[key] is not None]
    missing = [row for row in rows if row[key] is None]
    present.sort(key=lambda row: (row[key], row["index"]), reverse=descending)
    return present + missing
