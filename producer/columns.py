"""A run's ended tasks as columns, read once and then extended by what ended since.

The task table (sorted or filtered by state) and the timeline of a 100,000-task run need a few
fields of every ended task, never the whole records at once. Records land in the run's order
list as they end, so a reader that remembers how far it read (`consumed`) asks Redis only for
the new ones: a live page costs what changed, a finished run is read once per process.

About 150 bytes per task in memory (typed arrays, one URL string each); `arrays()` gives
numpy copies of the numeric columns for the sorts and the timeline's binning.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from redis import Redis

from contract.states import TaskState
from producer.reader import TASKS_PER_READ, read_ended

#: Task states as one byte each, in the order of the enum.
STATE_CODES: dict[str, int] = {state.value: code for code, state in enumerate(TaskState)}
STATES: tuple[str, ...] = tuple(state.value for state in TaskState)

#: An executor: (host, worker, pid, thread); the empty lane of a task that never ran.
Lane = tuple[str, str, str, str]
NO_LANE: Lane = ("", "", "", "")

MISSING = -1

_FIELDS = itemgetter(
    "index", "state", "started_at", "finished_at", "status_code", "bytes", "cpu_s", "attempt",
    "host", "worker", "pid", "thread", "url", "error",
)  # fmt: skip
_LANE_FIELDS = ("host", "worker", "pid", "thread")


#: State -> code; a state this version does not know reads as an error.
_STATE_CODE = defaultdict(lambda: STATE_CODES[TaskState.ERROR.value], STATE_CODES)


class Arrays(NamedTuple):
    """A snapshot of the numeric columns, for vectorised sorts and binning."""

    task_index: npt.NDArray[np.int64]
    state: npt.NDArray[np.uint8]
    started_at: npt.NDArray[np.float64]
    finished_at: npt.NDArray[np.float64]
    status: npt.NDArray[np.int64]
    size: npt.NDArray[np.int64]
    cpu_s: npt.NDArray[np.float64]
    lane: npt.NDArray[np.int64]


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
    _lane_ids: dict[tuple[Any, ...], int] = field(default_factory=dict)
    _row_of: dict[int, int] = field(default_factory=dict)
    first_start: float = math.inf
    _arrays: Arrays | None = None

    def __len__(self) -> int:
        return len(self.index)

    def row_of(self, task_index: int) -> int | None:
        """Where a task is in the columns, if it has ended."""
        return self._row_of.get(task_index)

    def append(self, tasks: list[dict[str, Any]]) -> None:
        """Ended tasks' records, column by column; a task already here is ignored (the first
        record stays). Transposed with itemgetter and converted by numpy: a 100,000-task run
        is read in about a second, most of it parsing JSON."""
        fresh: list[dict[str, Any]] = []
        for task in tasks:
            task_index = int(task["index"])
            if task_index not in self._row_of:
                self._row_of[task_index] = len(self.index) + len(fresh)
                fresh.append(task)
        if not fresh:
            return
        rows = [_FIELDS(task) for task in fresh]
        (index, state, started, finished, status, size, cpu, attempt, host, worker, pid,
         thread, url, error) = zip(*rows, strict=True)  # fmt: skip
        self.index.extend(index)
        self.state.extend(map(_STATE_CODE.__getitem__, state))
        begin = np.array(started, np.float64)  # None -> NaN
        end = np.array(finished, np.float64)
        self.started_at.frombytes(begin.tobytes())
        self.finished_at.frombytes(end.tobytes())
        codes = np.array(status, np.float64)
        self.status.frombytes(np.where(np.isnan(codes), MISSING, codes).astype(np.int64).tobytes())
        self.size.extend(v or 0 for v in size)
        self.cpu_s.frombytes(np.array(cpu, np.float64).tobytes())
        self.attempt.extend(v or 1 for v in attempt)
        executors = list(zip(host, worker, pid, thread, strict=True))
        for executor in set(executors) - self._lane_ids.keys():
            self._lane_ids[executor] = len(self.lanes)
            self.lanes.append(lane_of(dict(zip(_LANE_FIELDS, executor, strict=True))))
        self.lane.extend(map(self._lane_ids.__getitem__, executors))
        self.url.extend(map(str, url))
        self.errors.update((i, str(e)) for i, e in zip(index, error, strict=True) if e)
        timed = begin[~(np.isnan(begin) | np.isnan(end))]
        if len(timed):
            self.first_start = min(self.first_start, float(timed.min()))

    def extend(self, redis: Redis) -> int:
        """Read the tasks that ended since the last call; how many were new."""
        before = len(self)
        while True:
            records = read_ended(redis, self.run_id, self.consumed, TASKS_PER_READ)
            self.append(records)
            self.consumed += len(records)
            if len(records) < TASKS_PER_READ:
                return len(self) - before

    def arrays(self) -> Arrays:
        """The numeric columns as numpy arrays (copies: the columns may grow meanwhile)."""
        cached = self._arrays
        if cached is not None and len(cached.task_index) == len(self):
            return cached
        cached = self._arrays = Arrays(
            task_index=np.array(self.index, dtype=np.int64),
            state=np.frombuffer(bytes(self.state), dtype=np.uint8),
            started_at=np.array(self.started_at, dtype=np.float64),
            finished_at=np.array(self.finished_at, dtype=np.float64),
            status=np.array(self.status, dtype=np.int64),
            size=np.array(self.size, dtype=np.int64),
            cpu_s=np.array(self.cpu_s, dtype=np.float64),
            lane=np.array(self.lane, dtype=np.int64),
        )
        return cached

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
