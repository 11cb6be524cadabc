"""A run's ended tasks as columns, read once and then extended by what ended since.

The task table (sorted or filtered by state) and the timeline of a 100,000-task run need a few
fields of every ended task, never the whole records at once. Records land in the run's order
list as they end, so a reader that remembers how far it read (`consumed`) asks Redis only for
the new ones: a live page costs what changed, a finished run is read once per process.

About 150 bytes per task in memory (typed arrays, one URL string each).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from contract import keys
from contract.states import TaskState
from producer.reader import TASKS_PER_READ, parse_record

#: Task states as one byte each, in the order of the enum.
STATE_CODES: dict[str, int] = {state.value: code for code, state in enumerate(TaskState)}
STATES: tuple[str, ...] = tuple(state.value for state in TaskState)

#: An executor: (host, worker, pid, thread); the empty lane of a task that never ran.
Lane = tuple[str, str, str, str]
NO_LANE: Lane = ("", "", "", "")

MISSING = -1


def lane_of(task: dict[str, Any]) -> Lane:
    """The executor of a task or start record."""
    if not task.get("host"):
        return NO_LANE
    return (str(task["host"]), str(task["worker"]), str(task["pid"]), str(task["thread"]))


@dataclass
class RunColumns:
    """The ended tasks of one run in finishing order, one typed array per field.

    Times are epoch seconds; a field a task does not have is NaN (floats) or -1 (integers).
    """

    run_id: str
    consumed: int = 0
    index: array[int] = field(default_factory=lambda: array("l"))
    state: bytearray = field(default_factory=bytearray)
    started_at: array[float] = field(default_factory=lambda: array("d"))
    finished_at: array[float] = field(default_factory=lambda: array("d"))
    status: array[int] = field(default_factory=lambda: array("l"))
    size: array[int] = field(default_factory=lambda: array("q"))
    cpu_s: array[float] = field(default_factory=lambda: array("d"))
    attempt: array[int] = field(default_factory=lambda: array("l"))
    lane: array[int] = field(default_factory=lambda: array("l"))
    url: list[str] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)
    lanes: list[Lane] = field(default_factory=list)
    _lane_ids: dict[Lane, int] = field(default_factory=dict)
    _row_of: dict[int, int] = field(default_factory=dict)
    first_start: float = math.inf
    longest_s: float = 0.0

    def __len__(self) -> int:
        return len(self.index)

    def row_of(self, task_index: int) -> int | None:
        """Where a task is in the columns, if it has ended."""
        return self._row_of.get(task_index)

    def lane_id(self, lane: Lane) -> int:
        found = self._lane_ids.get(lane)
        if found is None:
            found = self._lane_ids[lane] = len(self.lanes)
            self.lanes.append(lane)
        return found

    def append(self, task: dict[str, Any]) -> None:
        """One ended task's record; a task already here is ignored (the first record stays)."""
        task_index = int(task["index"])
        if task_index in self._row_of:
            return
        self._row_of[task_index] = len(self.index)
        self.index.append(task_index)
        self.state.append(STATE_CODES.get(task["state"], STATE_CODES[TaskState.ERROR.value]))
        started, finished = task.get("started_at"), task.get("finished_at")
        self.started_at.append(math.nan if started is None else float(started))
        self.finished_at.append(math.nan if finished is None else float(finished))
        if started is not None and finished is not None:
            self.first_start = min(self.first_start, float(started))
            self.longest_s = max(self.longest_s, float(finished) - float(started))
        status = task.get("status_code")
        self.status.append(MISSING if status is None else int(status))
        self.size.append(int(task.get("bytes") or 0))
        cpu = task.get("cpu_s")
        self.cpu_s.append(math.nan if cpu is None else float(cpu))
        self.attempt.append(int(task.get("attempt") or 1))
        self.lane.append(self.lane_id(lane_of(task)))
        self.url.append(str(task.get("url", "")))
        if task.get("error"):
            self.errors[task_index] = str(task["error"])

    def extend(self, redis: Redis) -> int:
        """Read the tasks that ended since the last call; how many were new."""
        before = len(self)
        while True:
            order = redis.lrange(
                keys.order_key(self.run_id), self.consumed, self.consumed + TASKS_PER_READ - 1
            )
            if not order:
                return len(self) - before
            values = redis.hmget(keys.tasks_key(self.run_id), order)
            for value in values:
                if value is None:  # cannot happen: a record lands before its order entry
                    break
                self.append(parse_record(value))
                self.consumed += 1
            if len(order) < TASKS_PER_READ:
                return len(self) - before

    def task(self, row: int) -> dict[str, Any]:
        """One ended task as the reader's record has it (the fields the pages show)."""
        host, worker, pid, thread = self.lanes[self.lane[row]]
        started, finished = self.started_at[row], self.finished_at[row]
        timed = not (math.isnan(started) or math.isnan(finished))
        task_index = self.index[row]
        return {
            "index": task_index,
            "url": self.url[row],
            "state": STATES[self.state[row]],
            "status_code": None if self.status[row] == MISSING else self.status[row],
            "bytes": self.size[row],
            "error": self.errors.get(task_index),
            "started_at": started if timed else None,
            "finished_at": finished if timed else None,
            "duration_s": finished - started if timed else None,
            "cpu_s": None if math.isnan(self.cpu_s[row]) else self.cpu_s[row],
            "host": host or None,
            "worker": worker or None,
            "pid": int(pid) if pid.isdigit() else (pid or None),
            "thread": thread or None,
            "attempt": self.attempt[row],
        }


def time_origin(columns: RunColumns, starts: list[dict[str, Any]]) -> float | None:
    """The first start of any task: the timeline's and the table's zero."""
    first = min([columns.first_start, *(float(s["started_at"]) for s in starts)])
    return None if math.isinf(first) else first
