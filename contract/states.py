"""String enums that round-trip through Redis and JSON with no glue."""

from __future__ import annotations

from enum import Enum


class TaskState(str, Enum):
    """Where one URL of a run stands. Every task ends in exactly one terminal state."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    HTTP_ERROR = "http_error"
    ERROR = "error"
    TIMEOUT = "timeout"
    REFUSED = "refused"
    LOST = "lost"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_TASK_STATES


#: Every state but the two a task passes through before it ends.
TERMINAL_TASK_STATES = frozenset(TaskState) - {TaskState.PENDING, TaskState.RUNNING}


class RunState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class Strategy(str, Enum):
    """How a batch is spread: inside one job (local concurrency) or over many jobs (queued)."""

    SEQUENTIAL = "sequential"
    THREADS = "threads"
    PROCESSES = "processes"
    ASYNCIO = "asyncio"
    QUEUE = "queue"
    HYBRID = "hybrid"

    @property
    def is_single_job(self) -> bool:
        return self not in (Strategy.QUEUE, Strategy.HYBRID)


class Workload(str, Enum):
    """`fetch` waits on the network (I/O-bound); `cpu` also burns a fixed amount of pure Python."""

    FETCH = "fetch"
    CPU = "cpu"
