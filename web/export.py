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
from typing import Any

COLUMNS = (
    "index", "url", "state", "status_code", "bytes", "error", "started_at", "finished_at",
    "duration_s", "cpu_s", "worker", "host", "pid", "thread", "cores", "attempt",
)  # fmt: skip

#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Rows per chunk the response yields.
ROWS_PER_CHUNK = 500


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _rows(
    tasks: Iterable[dict[str, Any]], running: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    yield from tasks
    for start in running:
        yield dict(start, state="running")


def csv_chunks(
    tasks: Iterable[dict[str, Any]], running: Iterable[dict[str, Any]] = ()
) -> Iterator[str]:
    """Ended tasks by index, then the running ones (state `running`, no end yet)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n, task in enumerate(_rows(tasks, running), start=1):
        writer.writerow([_cell(task.get(column)) for column in COLUMNS])
        if n % ROWS_PER_CHUNK == 0:
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
    batch: list[str] = []
    first = True
    for task in tasks:
        batch.append(json.dumps(task))
        if len(batch) == ROWS_PER_CHUNK:
            yield ("" if first else ",") + ",".join(batch)
            first, batch = False, []
    if batch:
        yield ("" if first else ",") + ",".join(batch)
    yield '], "running": ' + json.dumps(list(running)) + "}"


def trace_chunks(
    record: dict[str, Any], tasks: Iterable[dict[str, Any]], t0: float | None
) -> Iterator[str]:
    """The Trace Event Format, JSON object form: `traceEvents` then `displayTimeUnit`."""
    pids: dict[str, int] = {}
    tids: dict[tuple[str, str], int] = {}
    yield '{"traceEvents": ['
    yield json.dumps(
        {
            "name": "process_name",
            "ph": "M",
            "pid": 0,
            "tid": 0,
            "args": {"name": f"fanout run {record['id']} ({record['spec']['strategy']})"},
        }
    )
    batch: list[str] = []
    for task in tasks:
        if task.get("started_at") is None or task.get("finished_at") is None or t0 is None:
            continue
        process = f"{task.get('host')} / {task.get('worker')}"
        if process not in pids:
            pids[process] = len(pids) + 1
            batch.append(_meta("process_name", pids[process], 0, process))
        lane = (process, f"{task.get('pid')} / {task.get('thread')}")
        if lane not in tids:
            tids[lane] = len(tids) + 1
            batch.append(_meta("thread_name", pids[process], tids[lane], lane[1]))
        batch.append(
            json.dumps(
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
        )
        if len(batch) >= ROWS_PER_CHUNK:
            yield "," + ",".join(batch)
            batch = []
    if batch:
        yield "," + ",".join(batch)
    yield '], "displayTimeUnit": "ms", "otherData": ' + json.dumps(_other_data(record)) + "}"


def _other_data(record: dict[str, Any]) -> dict[str, Any]:
    """The trace's metadata (Trace Event Format, `otherData`): what the run cost the OS."""
    return {"fanout_run": record["id"], "cost": record.get("cost")}


def _meta(name: str, pid: int, tid: int, value: str) -> str:
    return json.dumps({"name": name, "ph": "M", "pid": pid, "tid": tid, "args": {"name": value}})
