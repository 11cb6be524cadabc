"""Records that cross a process boundary: dataclasses with explicit to_dict / from_dict.

Frozen, except the two a worker makes for every task (`TaskRecord`, `StartRecord`): a frozen
dataclass sets each field through `object.__setattr__`, several times the cost of a plain one's
`__init__`, paid per task on the worker's hot path (the client-cpu bench). Not slotted either:
orjson encodes a slotted dataclass several times slower. Nothing changes them once made. The
two take keywords only: sixteen fields, four of them times, must not swap when one moves.

Their fields are also the JSON API's: web.responses makes its reply models from them, so a
bound such as `Count` (an `annotated_types` constraint) is declared here and checked there,
never when a record is made.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Annotated, Any

import orjson
from annotated_types import Ge

from contract.states import Strategy, TaskState, Workload

#: A number of things, or a position from zero.
Count = Annotated[int, Ge(0)]
#: Counted from one: an attempt, a concurrency.
Positive = Annotated[int, Ge(1)]


@dataclass(frozen=True)
class RunSpec:
    """What the user asked for: the batch and how to spread it."""

    urls: tuple[str, ...]
    strategy: Strategy
    concurrency: Positive = 8
    workload: Workload = Workload.FETCH

    def to_dict(self) -> dict[str, Any]:
        return {"urls": list(self.urls), **self.settings_dict()}

    def settings_dict(self) -> dict[str, Any]:
        """Everything but the URLs: what a run's hash keeps (its URLs live in their own list)."""
        return {
            "strategy": self.strategy.value,
            "concurrency": self.concurrency,
            "workload": self.workload.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(
            urls=tuple(data["urls"]),
            strategy=Strategy(data["strategy"]),
            concurrency=int(data.get("concurrency", 8)),
            workload=Workload(data.get("workload", Workload.FETCH.value)),
        )


@dataclass(kw_only=True)
class TaskRecord:
    """One URL's outcome. Times are epoch seconds (float); `cpu_s` is the thread's CPU time."""

    index: Count
    url: str
    state: TaskState
    status_code: int | None = None
    bytes: Count = 0
    error: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    cpu_s: float | None = None
    worker: str | None = None
    host: str | None = None
    pid: int | None = None
    thread: str | None = None
    cores: int | None = None
    attempt: Positive = 1

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: every field is a primitive, and `asdict` deep-copies (a reader of
        # a 2,000-task run spent most of its time there).
        data = {name: getattr(self, name) for name in _TASK_FIELDS}
        data["state"] = self.state.value
        return data

    def to_json(self) -> str:
        return _dumps(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRecord:
        return cls(**{**data, "state": TaskState(data["state"])})

    @classmethod
    def from_json(cls, text: str | builtins.bytes) -> TaskRecord:
        return cls.from_dict(json.loads(text))


_TASK_FIELDS = tuple(f.name for f in fields(TaskRecord))


def _dumps(record: TaskRecord | StartRecord) -> str:
    """The record as compact JSON. orjson writes a dataclass as its fields and an enum as its
    value, an order of magnitude faster than `json.dumps(to_dict())`, and a worker writes one per
    task.
    The text is not `json.dumps`'s (`0.00005` for `5e-05`, UTF-8 for `\\u00e9`); what it parses
    to is. The one string orjson refuses, a lone surrogate, goes through `json.dumps`."""
    try:
        return orjson.dumps(record).decode()
    except orjson.JSONEncodeError:
        return json.dumps(record.to_dict(), separators=(",", ":"))


@dataclass(kw_only=True)
class StartRecord:
    """A task that has started and not yet ended: drawn as a running bar, watched for loss."""

    index: Count
    url: str
    started_at: float
    worker: str
    host: str
    pid: int
    thread: str
    attempt: Positive = 1

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _START_FIELDS}  # shallow, as TaskRecord's

    def to_json(self) -> str:
        return _dumps(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> StartRecord:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in _START_FIELDS})


_START_FIELDS = frozenset(f.name for f in fields(StartRecord))


@dataclass(frozen=True)
class WorkerSpan:
    """One worker's lifetime (epoch seconds): joined, and left (its clean stop or, if it was
    killed, its last heartbeat; `now` while it lives)."""

    name: str
    host: str
    start: float
    end: float
    cores: int | None = None

    def to_list(self) -> list[object]:
        return [self.name, self.host, self.start, self.end, self.cores]

    @classmethod
    def from_list(cls, data: Sequence[object]) -> WorkerSpan:
        name, host, start, end, cores = data
        # JSON items are objects to mypy; float() of one that is not a number raises, as it should.
        return cls(str(name), str(host), float(start), float(end), _int_or_none(cores))  # type: ignore[arg-type]  # see above


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
