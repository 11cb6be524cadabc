"""A run's tasks exported, streamed from Redis a slice at a time (constant memory, whatever the
run's size): CSV, JSON, and the Trace Event Format that Perfetto and chrome://tracing open.

The trace puts each task on the lane that ran it: a process per host/worker (`pid`), a thread
per worker thread or pool process (`tid`), named by metadata events, and one complete event
(`ph: "X"`, `ts` and `dur` in microseconds from the run's first start) per task, so a run opens
beside a profile of the same program (Trace Event Format, "Complete Events" and "Metadata
Events"), with what the run cost the operating system (`cost`, per host and in total) in
its `otherData`. The JSON export carries the same `cost` as the run record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any, TypeVar

COLUMNS = (
    "index", "url", "state", "status_code", "bytes", "error", "started_at", "finished_at",
    "duration_s", "cpu_s", "worker", "host", "pid", "thread", "cores", "attempt",
)  # fmt: skip

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Rows per chunk the response yields.
ROWS_PER_CHUNK = 500

T = TypeVar("T")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    """`items` ROWS_PER_CHUNK at a time: the response streams a chunk per batch."""
    iterator = iter(items)
    while batch := list(islice(iterator, ROWS_PER_CHUNK)):
        yield batch


def _joined(items: Iterable[str]) -> Iterator[str]:
    """JSON values comma-separated, a batch per chunk."""
    for n, batch in enumerate(_batches(items)):
        yield ("," if n else "") + ",".join(batch)


def csv_chunks(
    tasks: Iterable[dict[str, Any]], running: Iterable[dict[str, Any]] = ()
) -> Iterator[str]:
    """Ended tasks by index, then the running ones (state `running`, no end yet)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = chain(tasks, (dict(start, state="running") for start in running))
    for batch in _batches(rows):
        writer.writerows([_cell(task.get(column)) for column in COLUMNS] for task in batch)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def json_chunks(
    record: dict[str, Any], tasks: Iterable[dict[str, Any]], running: Iterable[dict[str, Any]]
) -> Iterator[str]:
    """The run record (read without its tasks) with `tasks` and `running` streamed in."""
    head = json.dumps({k: v for k, v in record.items() if k not in ("tasks", "running")})
    yield head[:-1] + ', "tasks": ['
    yield from _joined(json.dumps(task) for task in tasks)
    yield '], "running": ' + json.dumps(list(running)) + "}"


def trace_chunks(
    record: dict[str, Any], tasks: Iterable[dict[str, Any]], running: Iterable[dict[str, Any]]
) -> Iterator[str]:
    """The Trace Event Format, JSON object form: `traceEvents` then `displayTimeUnit`. A task
    still running has no end, so no event."""
    name = f"fanout run {record['id']} ({record['spec']['strategy']})"
    events = _events(tasks, record["first_task_at"])
    yield '{"traceEvents": ['
    yield from _joined(chain([_meta("process_name", 0, 0, name)], events))
    other = {"fanout_run": record["id"], "cost": record.get("cost")}
    yield '], "displayTimeUnit": "ms", "otherData": ' + json.dumps(other) + "}"


def _events(tasks: Iterable[dict[str, Any]], t0: float | None) -> Iterator[str]:
    """A complete event per timed task, after the metadata naming its process and thread."""
    pids: dict[str, int] = {}
    tids: dict[tuple[str, str], int] = {}
    for task in tasks:
        if task.get("started_at") is None or task.get("finished_at") is None or t0 is None:
            continue
        process = f"{task.get('host')} / {task.get('worker')}"
        if process not in pids:
            pids[process] = len(pids) + 1
            yield _meta("process_name", pids[process], 0, process)
        lane = (process, f"{task.get('pid')} / {task.get('thread')}")
        if lane not in tids:
            tids[lane] = len(tids) + 1
            yield _meta("thread_name", pids[process], tids[lane], lane[1])
        yield json.dumps(
            {
                "name": task["url"],
                "cat": task["state"],
                "ph": "X",
                "ts": round((task["started_at"] - t0) * 1e6, 1),
                "dur": round((task["finished_at"] - task["started_at"]) * 1e6, 1),
                "pid": pids[process],
                "tid": tids[lane],
                "args": {
                    "index": task["index"],
                    "status": task.get("status_code"),
                    "bytes": task.get("bytes"),
                    "attempt": task.get("attempt"),
                    "error": task.get("error"),
                },
            }
        )


def _meta(name: str, pid: int, tid: int, value: str) -> str:
    return json.dumps({"name": name, "ph": "M", "pid": pid, "tid": tid, "args": {"name": value}})
