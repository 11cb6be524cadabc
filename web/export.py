"""A run's tasks as CSV, one row per task, in the columns of the JSON task record."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = (
    "index", "url", "state", "status_code", "bytes", "error", "started_at", "finished_at",
    "duration_s", "cpu_s", "worker", "host", "pid", "thread", "cores", "attempt",
)  # fmt: skip

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def run_csv(run: dict[str, Any]) -> str:
    """Ended tasks by index, then the running ones (state `running`, no end yet)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for task in run.get("tasks", []):
        writer.writerow([_cell(task.get(column)) for column in COLUMNS])
    for start in run.get("running", []):
        row = dict(start, state="running")
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()
