"""The JSON API's response bodies, declared once as pydantic models: the OpenAPI document states
their JSON Schema (web.openapi), and tests/web validate real responses against it, so a body that
drifts from its model fails a test, not a client.

The bodies are built by producer.reader, producer.workers, producer.stats, producer.scaling,
producer.sweep and web.runview; every field listed without a default is always present. A body
that is a record's (a run's spec, a task, a summary) takes its fields from the record's
dataclass (`fields_of`): the record is the one home of the shape, the model adds the API's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Annotated, Any, Literal, TypeVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from contract import keys, target
from contract.records import Count, Positive, StartRecord, TaskRecord
from contract.records import RunSpec as SpecRecord
from contract.states import RunState, Strategy, TaskState
from contract.target import TargetMode
from figures import summary, usl
from producer.task_table import SORT_KEYS
from web.runview import MAX_PAGE_ROWS

Id = Annotated[str, Field(pattern=f"^{keys.ID_PATTERN}$", description="12 hex digits")]
SortKey = Literal[SORT_KEYS]  # type: ignore[valid-type]  # a Literal of a tuple made at run time


class Reply(BaseModel):
    """A body names every field it may hold: one the model does not declare is refused where
    replies are checked (web.operations.check_reply), and the document says so."""

    model_config = ConfigDict(extra="forbid")


ReplyT = TypeVar("ReplyT", bound=Reply)


def fields_of(record: type[Any], **changes: Any) -> Callable[[type[ReplyT]], type[ReplyT]]:
    """Makes the decorated model (a name and a docstring) the body of a `record` dataclass: its
    fields in their order, each of the record's type with its constraints (`Annotated`), and
    required, since a body holds every field (a record's defaults serve the code that makes
    one). `changes` give a field the API's words, `Field(description=...)`, or a
    `(type, Field(...))` where the body is more precise than the record."""
    hints = get_type_hints(record, include_extras=True)
    names = [field.name for field in fields(record)]
    if unknown := set(changes) - set(names):
        raise TypeError(f"{record.__name__} has no field {', '.join(sorted(unknown))}")

    def definition(name: str) -> Any:
        change = changes.get(name, ...)  # `...`: required
        return change if isinstance(change, tuple) else (hints[name], change)

    def derive(model: type[ReplyT]) -> type[ReplyT]:
        return create_model(
            model.__name__,
            __base__=model,
            __doc__=model.__doc__,
            __module__=model.__module__,
            **{name: definition(name) for name in names},
        )

    return derive


class Error(Reply):
    """Every 4xx and 5xx of the API: what is wrong, and which field (and line) when one is."""

    error: str
    field: str | None


#: How many tasks are in each state (every state, 0 when none).
StateCounts: type[BaseModel] = create_model(
    "StateCounts",
    __base__=Reply,
    **{state.value: (Count, ...) for state in TaskState},  # type: ignore[call-overload]  # fields from a ** mapping
)


@fields_of(
    SpecRecord,
    urls=Field(
        default=[], description="With the tasks of a page: the URLs of its indexes (`offset` on)"
    ),
)
class RunSpec(Reply): ...


@fields_of(TaskRecord)
class Task(Reply): ...


@fields_of(StartRecord)
class Start(Reply):
    """A task that started and has not ended."""


class WorkersServed(Reply):
    served: Count = Field(description="Workers that ran at least one task of the run")
    live: Count = Field(description="Workers alive at the first start")
    peak: Count
    changes: list[tuple[float, Count]] = Field(
        description="[seconds from the first start, workers alive from then on], per change"
    )


@fields_of(
    summary.Summary,
    counts=(StateCounts, ...),
    ideal_basis=Field(
        description="`slots`: the strategy's fixed slots; `capacity`: the workers really alive"
    ),
    capacity_slot_s=Field(
        description="Slot-seconds offered from the first start to the last end (capacity only)"
    ),
    workers=(WorkersServed | None, Field(description="The workers over the run (capacity only)")),
)
class Summary(Reply): ...


class CostFigures(Reply):
    """What the processes that ran a run cost the operating system (contract.cost): one host's
    workers summed, or every host's."""

    workers: Count = Field(description="Worker processes that ran jobs of the run")
    jobs: Count
    memory_idle_bytes: Count = Field(
        description="RSS of those workers when their first job of the run started"
    )
    memory_peak_bytes: Count = Field(
        description="Peak RSS of each worker plus the USS of its pool children, summed"
    )
    memory_added_bytes: Count = Field(description="The peak less the idle workers")
    processes: Count = Field(description="The workers and their pool children that ran tasks")
    processes_started: Count = Field(description="Of the children, those forked for the run")
    threads: Count = Field(description="Threads of those processes at their peak")
    threads_started: Count = Field(description="Threads absent when their job started")
    ctx_switches_voluntary: Count
    ctx_switches_involuntary: Count
    cpu_user_s: Annotated[float, Field(ge=0)]
    cpu_system_s: Annotated[float, Field(ge=0)]
    samples: Count


class Cost(Reply):
    hosts: dict[str, CostFigures]
    total: CostFigures


class HostLoad(Reply):
    """Cores each machine spent during the run besides the workers (figures.hostload)."""

    others_cores: dict[str, float] = Field(description="Other processes than fanout's, per host")
    max_others_cores: float
    own_cores: dict[str, dict[str, float]] = Field(
        description="fanout's own services other than its workers, per host and service"
    )
    threshold_cores: float = Field(description="Above this, a host was busy")
    busy: bool
    note: str = Field(description="The page's sentence; empty when no host was busy")


class Run(Reply):
    id: Id
    spec: RunSpec
    state: RunState
    provisional: bool = Field(
        description="True until the run is done and its host load is in: figures may move"
    )
    total: Count
    done: Count
    counts: StateCounts  # type: ignore[valid-type]  # a model made at run time (create_model)
    duplicates: Count
    jobs: Count
    workers_at_start: Count
    chunk_size: int | None = Field(description="Tasks per job (hybrid), null for the others")
    comparison: Id | None
    sweep: Id | None
    repeat_index: Count = Field(description="Which round of its comparison (0 alone)")
    submitted_at: float | None
    started_at: float | None
    finished_at: float | None
    first_task_at: float | None
    summary: Summary
    host_load: HostLoad | None = Field(
        description="null until worker samples cover the run (they come once a second)"
    )
    cost: Cost | None = Field(
        default=None,
        description="What the run cost the operating system, per host and in total (null "
        "until a worker has measured one of its jobs)",
    )
    tasks: list[Task] = Field(default=[], description="Ended tasks by index")
    running: list[Start] = Field(default=[], description="Started, not ended")
    now: float = Field(default=0, description="The server's clock, epoch seconds")
    since: Count = Field(
        default=0, description="Echoes the `since` parameter: `tasks` holds only newer ones"
    )
    offset: Count = Field(default=0, description="The page's first index")
    limit: Positive = Field(default=1, description="The page's size")
    next_offset: int | None = Field(
        default=None, description="The next page's `offset`, null on the last page"
    )


class RunList(Reply):
    runs: list[Run]
    limit: Count
    offset: Count


class Spread(Reply):
    median: float
    min: float
    max: float


class ComparisonRow(Reply):
    """One strategy's runs, their figures as {median, min, max} over the rounds that ended."""

    strategy: Strategy
    run_ids: list[Id]
    done: Count
    total: Count
    final: bool
    wall_s: Spread | None
    ideal_s: Spread | None
    efficiency: Spread | None
    speedup: Spread | None
    vs_sequential: Spread | None
    peak_concurrency: int | None
    ok: Count
    tasks: Count
    busy: bool


class Comparison(Reply):
    id: Id
    spec: RunSpec
    total: Count
    submitted_at: float | None
    state: RunState
    provisional: bool
    repeat: Positive
    strategies: list[Strategy]
    runs: list[Run]
    rows: list[ComparisonRow]
    now: float


class RunAccepted(Reply):
    id: Id
    url: str


class RunLink(Reply):
    id: Id
    strategy: Strategy
    url: str


class ComparisonAccepted(Reply):
    id: Id
    url: str
    runs: list[RunLink]


class CurrentJob(Reply):
    id: str
    description: str | None
    run_id: str | None


class Worker(Reply):
    name: str
    host: str | None
    pid: int | None
    state: str
    current_job: CurrentJob | None
    jobs_done: Count
    jobs_failed: Count
    working_s: float
    born_at: float | None
    rq_heartbeat_at: float | None
    heartbeat_at: float | None
    alive: bool


class Queue(Reply):
    name: str
    queued: Count
    started: Count
    deferred: Count
    scheduled: Count
    finished: Count
    failed: Count
    canceled: Count


class GoneWorker(Reply):
    name: str
    host: str
    joined_at: float
    left_at: float
    heartbeat_at: float | None
    how: str


class Workers(Reply):
    now: float
    queue: Queue
    workers: list[Worker]
    live: Count
    gone: list[GoneWorker]


class TreeProcess(Reply):
    """One process of a host's tree (worker.proctree), listed after its parent."""

    pid: Count
    ppid: Count
    depth: Count
    role: Literal["supervisor", "worker", "scheduler", "horse", "child", "other"]
    state: str = Field(description="RQ's, for a worker; busy or idle below one")
    worker: str | None
    name: str
    cmd: str
    status: str
    threads: Count
    rss: Count = Field(description="Resident memory, bytes")
    cpu: Annotated[float, Field(ge=0, description="% of one core over the last second")]


class HostTree(Reply):
    host: str
    hostname: str
    at: float
    cost_ms: Annotated[float, Field(ge=0, description="CPU the supervisor's previous publish took")]
    fork_workers: bool
    processes: list[TreeProcess]


class ProcessTree(Reply):
    """`GET /api/workers/tree`: producer.proctree's reading of every live host's snapshot."""

    now: float
    hosts: list[HostTree]


class Stats(Reply):
    start: int
    end: int
    step_s: Literal[1]
    seconds: list[int]
    tasks: list[Count]
    workers: list[Count]
    total_tasks: Count
    peak_tasks_per_s: Count
    live_workers: Count


class Health(Reply):
    status: Literal["ok", "unavailable"]
    redis: Literal["ok", "unreachable"]
    error: str = ""
    persistence: dict[str, Any] | None = Field(
        default=None,
        description="Whether a Redis restart would lose queued work (`durability`: aof, "
        "snapshots, none or unknown), with a sentence to show",
    )


@fields_of(target.Target, n=Field(ge=0))
class Target(Reply): ...


class HostShare(Reply):
    host: str
    share: int | None
    live: Count
    running: int | None
    stopping: Count
    max: int | None


class WorkerTarget(Reply):
    target: Target | None
    hosts: list[HostShare]
    live: Count
    max_per_host: Count
    min: dict[TargetMode, Count] = Field(description="The smallest target each mode takes")
    sweep: str | None


class SweepAccepted(Reply):
    id: Id
    url: str


class SweepPoint(Reply):
    workers: Positive
    throughput: float | None
    wall_s: float | None
    efficiency: float | None
    run_id: Id
    others_cores: float | None = Field(description="Other processes' cores on the busiest host")
    others_by_host: dict[str, float]
    busy: bool
    marks: list[str] = Field(description="Why the point does not measure the batch at its N")
    fitted: bool = Field(description="Whether the USL fit uses the point")


@fields_of(usl.UslFit, sigma=Field(ge=0), kappa=Field(ge=0))
class UslFit(Reply): ...


class Series(Reply):
    n: list[Any]
    x: list[Any]


class Sweep(Reply):
    id: Id
    state: Literal["queued", "running", "done", "failed"]
    error: str | None
    spec: dict[str, Any]
    workers: list[int]
    step: Count
    phase: str | None
    run_id: str | None
    driver: str | None
    submitted_at: float
    finished_at: float | None
    restore: dict[str, Any] | None
    points: list[SweepPoint]
    fit: UslFit | None
    fit_note: str | None
    fit_note_marked: str | None = Field(description="How many marked points the fit leaves out")
    curve: Series | None
    ideal: Series | None
    now: float


class TaskRow(Reply):
    index: Count
    url: str
    state: TaskState
    status: int | None
    bytes: int | None
    start: float | None = Field(description="Seconds from the run's first start")
    duration: float | None
    cpu: float | None
    lane: str = Field(description="host / worker / pid / thread")
    lane_label: str
    attempt: int | None
    error: str | None


class TaskPage(Reply):
    sort: SortKey
    order: Literal["asc", "desc"]
    state: TaskState | None
    offset: Count
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_ROWS)]
    matched: Count = Field(description="Rows the filter selects, over all pages")
    total: Count
    rows: Annotated[list[TaskRow], Field(max_length=MAX_PAGE_ROWS)]


class Bars(Reply):
    """One column per field, a value per bar."""

    index: list[Any]
    lane: list[Any]
    start: list[Any]
    duration: list[Any]
    state: list[Any]
    url: list[Any]
    status: list[Any]
    bytes: list[Any]
    cpu: list[Any]
    error: list[Any]


class Running(Reply):
    index: list[float]
    lane: list[float]
    start: list[float]
    url: list[str]


class Bins(Reply):
    width: float
    count: Count
    busy: list[list[float]]
    ended: list[list[float]]
    failed: list[list[float]]


class RunNotes(Reply):
    """How the run went beyond its figures (web.runview.run_notes), with the run page's words."""

    reruns: Count = Field(description="Tasks run again: their worker stopped before they ended")
    paused_s: float = Field(description="Time after the first start with no task running")
    rerun_note: str = Field(description="The page's sentence on `reruns`; empty for none")
    pause_note: str = Field(description="The page's sentence on `paused_s`; empty for none")


class Timeline(Reply):
    model_config = ConfigDict(title="Timeline", extra="forbid")

    mode: Literal["bars", "bins", "empty"]
    lanes: list[str]
    lane_labels: list[str]
    end: float
    ended: Count
    final: bool
    from_: float = Field(default=0, alias="from")
    to: float = 0
    since: Count = 0
    now: float = 0
    bars: Bars | None = None
    running: Running | None = None
    bins: Bins | None = None
    notes: RunNotes | None = None
