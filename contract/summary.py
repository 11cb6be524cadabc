"""The numbers that tell how close a run came to its physical limit.

The ideal lower bound (`ideal_s`) of a batch at a number of slots (tasks that can run at once):

* ``fetch``: ``max(max_d, sum_d / slots)`` with ``d`` each task's duration. No schedule can beat
  the longest task, nor do better than spreading the total work evenly over every slot.
* ``cpu``: the same formula on each task's CPU time, with ``slots`` capped by the cores of the hosts
  that ran the batch (``min(slots, cores)``): pure Python work cannot overlap beyond the cores.
  Threads in one process cannot even reach that under the GIL, which shows as a low efficiency.

For ``queue`` and ``hybrid`` runs the slots are not a constant: workers join and leave while the
run goes. There the bound is computed from the capacity that really existed, the lifetimes of the
workers alive during the run (see `contract.capacity`): the least time in which the slots they
offered from the first start add up to the work, and never less than the longest task.

``efficiency = ideal_s / wall_s`` (1.0 is perfect) and ``speedup = sum_s / wall_s`` (the average
number of tasks in flight: how much overlapping bought over running them one by one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from contract import capacity as cap
from contract.records import RunSpec, TaskRecord
from contract.states import Strategy, TaskState, Workload


@dataclass(frozen=True)
class Summary:
    tasks: int
    timed: int
    wall_s: float | None
    latency_s: float | None
    sum_s: float
    work_s: float
    ideal_s: float | None
    efficiency: float | None
    speedup: float | None
    peak_concurrency: int
    throughput_per_s: float | None
    slots: int
    cores: int | None
    counts: dict[str, int]
    #: "slots" (a constant: local strategies) or "capacity" (the workers really alive).
    ideal_basis: str = "slots"
    #: Slot-seconds offered between the first start and the last end (capacity basis only).
    capacity_slot_s: float | None = None
    #: served / live / peak / changes: see `worker_summary` (capacity basis only).
    workers: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """Largest number of overlapping [start, end) intervals; an end at t frees its slot before a
    start at t takes one, so back-to-back tasks on one thread count once."""
    events: list[tuple[float, int]] = []
    for start, end in intervals:
        events.append((start, 1))
        events.append((end, -1))
    events.sort(key=lambda event: (event[0], event[1]))
    peak = current = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def slots_for(spec: RunSpec, workers: int, chunk_size: int | None = None) -> int:
    """How many tasks the strategy can run at once, given the live workers when the run started
    (and, for `hybrid`, the tasks per chunk)."""
    n = len(spec.urls)
    workers = max(1, workers)
    if spec.strategy is Strategy.SEQUENTIAL:
        return 1
    if spec.strategy is Strategy.QUEUE:
        return min(workers, n)
    if spec.strategy is Strategy.HYBRID:
        chunk = chunk_size or spec.concurrency
        chunks = -(-n // chunk)
        return min(n, min(workers, chunks) * min(spec.concurrency, chunk))
    return min(spec.concurrency, n)


def slots_per_worker(spec: RunSpec, chunk_size: int | None = None) -> int:
    """Tasks one worker runs at once for a queued strategy: one per job for `queue`, the chunk's
    threads for `hybrid`."""
    if spec.strategy is Strategy.HYBRID:
        return max(1, min(spec.concurrency, chunk_size or spec.concurrency))
    return 1


@dataclass(frozen=True)
class Capacity:
    """The workers' lifetimes around a queued run, and how many tasks each runs at once."""

    spans: tuple[cap.WorkerSpan, ...]
    slots_per_worker: int
    served: int = 0


def ideal_lower_bound(work_s: Sequence[float], slots: int) -> float:
    """``max(max_d, sum_d / slots)``: see the module docstring."""
    if not work_s:
        return 0.0
    return max(max(work_s), sum(work_s) / max(1, slots))


def count_states(tasks: Iterable[TaskRecord]) -> dict[str, int]:
    counts = {state.value: 0 for state in TaskState}
    for task in tasks:
        counts[task.state.value] += 1
    return counts


def summarize(
    tasks: Sequence[TaskRecord],
    *,
    workload: Workload,
    slots: int,
    submitted_at: float | None = None,
    finished_at: float | None = None,
    capacity: Capacity | None = None,
) -> Summary:
    """Summary of the tasks ended so far. `slots` is how many tasks the strategy can run at once;
    with `capacity` (queued strategies) the ideal comes from the workers really alive instead."""
    timed = [t for t in tasks if t.started_at is not None and t.finished_at is not None]
    starts = [t.started_at for t in timed]
    ends = [t.finished_at for t in timed]
    durations = [end - start for start, end in zip(starts, ends, strict=True)]  # type: ignore[operator]
    first = min(starts) if timed else None  # type: ignore[type-var]
    last = max(ends) if timed else None  # type: ignore[type-var]
    wall_s = last - first if first is not None and last is not None else None
    cores = _cores(timed)
    if workload is Workload.CPU:
        work = [
            t.cpu_s if t.cpu_s is not None else d for t, d in zip(timed, durations, strict=True)
        ]
        usable = min(slots, cores) if cores else slots
    else:
        work = durations
        usable = slots
    ideal_s = ideal_lower_bound(work, usable) if timed else None
    extra: dict[str, Any] = {}
    if capacity is not None and first is not None and last is not None:
        window = cap.overlapping(capacity.spans, first, last)
        steps = cap.steps(
            window,
            first,
            last,
            slots_per_worker=capacity.slots_per_worker,
            cap_by_cores=workload is Workload.CPU,
        )
        drain = cap.drain_time(steps, sum(work))
        ideal_s = max(max(work), drain) if work else 0.0
        peak_workers = max((step.workers for step in steps), default=0)
        slots = max(1, peak_workers * capacity.slots_per_worker)
        extra = {
            "ideal_basis": "capacity",
            "capacity_slot_s": cap.slot_seconds(steps, last),
            "workers": {
                "served": capacity.served,
                "live": steps[0].workers if steps else 0,
                "peak": peak_workers,
                "changes": cap.changes(steps),
            },
        }
    sum_s = sum(durations)
    positive_wall = wall_s if wall_s and wall_s > 0 else None
    return Summary(
        tasks=len(tasks),
        timed=len(timed),
        wall_s=wall_s,
        latency_s=(finished_at - submitted_at) if submitted_at and finished_at else None,
        sum_s=sum_s,
        work_s=sum(work),
        ideal_s=ideal_s,
        efficiency=(ideal_s / positive_wall) if positive_wall and ideal_s is not None else None,
        speedup=(sum_s / positive_wall) if positive_wall else None,
        peak_concurrency=peak_concurrency(zip(starts, ends, strict=True)),  # type: ignore[arg-type]
        throughput_per_s=(len(tasks) / positive_wall) if positive_wall else None,
        slots=slots,
        cores=cores,
        counts=count_states(tasks),
        **extra,
    )


def _cores(tasks: Iterable[TaskRecord]) -> int | None:
    """Cores over the distinct hosts that ran the tasks."""
    per_host: dict[str, int] = {}
    for task in tasks:
        if task.host and task.cores:
            per_host[task.host] = task.cores
    return sum(per_host.values()) or None
