"""The numbers that tell how close a run came to its physical limit.

The ideal lower bound (`ideal_s`) of a batch at a number of slots (tasks that can run at once):

* ``fetch``: ``max(max_d, sum_d / slots)`` with ``d`` each task's duration. No schedule can beat
  the longest task, nor do better than spreading the total work evenly over every slot.
* ``cpu``: the same formula on each task's CPU time, with ``slots`` capped by the cores of the hosts
  that ran the batch (``min(slots, cores)``): pure Python work cannot overlap beyond the cores.
  Threads in one process cannot even reach that under the GIL, which shows as a low efficiency.

For ``queue`` and ``hybrid`` runs the slots are not a constant: workers join and leave while the
run goes. There the bound is computed from the capacity that really existed, the lifetimes of the
workers alive during the run (see `figures.capacity`): the least time in which the slots they
offered from the first start add up to the work, and never less than the longest task.

``efficiency = ideal_s / wall_s`` (1.0 is perfect) and ``speedup = sum_s / wall_s`` (the average
number of tasks in flight: how much overlapping bought over running them one by one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import accumulate
from typing import Any, Literal

from contract.records import Count, RunSpec, TaskRecord, WorkerSpan
from contract.states import Strategy, TaskState, Workload
from figures import capacity as cap


@dataclass(frozen=True)
class Summary:
    """A run's figures, as the JSON API gives them (web.responses makes its model from these
    fields)."""

    tasks: Count
    timed: Count
    wall_s: float | None
    latency_s: float | None
    sum_s: float
    work_s: float
    ideal_s: float | None
    efficiency: float | None
    speedup: float | None
    peak_concurrency: int | None
    throughput_per_s: float | None
    slots: Count
    cores: int | None
    counts: dict[str, int]
    #: "slots" (a constant: local strategies) or "capacity" (the workers really alive).
    ideal_basis: Literal["slots", "capacity"] = "slots"
    #: Slot-seconds offered between the first start and the last end (capacity basis only).
    capacity_slot_s: float | None = None
    #: served / live / peak / changes: see `summarize_totals` (capacity basis only).
    workers: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def peak_concurrency(intervals: Iterable[tuple[float, float]]) -> int:
    """Largest number of overlapping [start, end) intervals; an end at t frees its slot before a
    start at t takes one, so back-to-back tasks on one thread count once."""
    events = sorted(event for start, end in intervals for event in ((start, 1), (end, -1)))
    return max(accumulate(delta for _, delta in events), default=0)


def slots_for(
    spec: RunSpec, workers: int, chunk_size: int | None = None, *, tasks: int | None = None
) -> int:
    """How many tasks the strategy can run at once, given the live workers when the run started
    (and, for `hybrid`, the tasks per chunk)."""
    n = len(spec.urls) if tasks is None else tasks
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

    spans: tuple[WorkerSpan, ...]
    slots_per_worker: int
    served: int = 0


@dataclass(frozen=True)
class Totals:
    """What the summary needs of a run's ended tasks, whether read from the task records or
    from the run-level totals the workers keep as tasks end (so a summary of a run of 100,000
    tasks costs one hash read). `work` is each task's duration, or CPU time for `cpu`."""

    tasks: int
    timed: int
    sum_d: float
    sum_w: float
    max_w: float
    first: float | None
    last: float | None
    counts: dict[str, int]
    cores: int | None
    #: None when only totals were read: overlaps need every task (kept when the run ends).
    peak: int | None

    @classmethod
    def from_fields(
        cls,
        run: Mapping[str, str | None],
        workload: Workload,
        *,
        counts: dict[str, int],
        cores: int | None,
    ) -> Totals:
        """From the run's hash: the `t_*` totals the workers keep (`worker.task_writer`), and the
        peak concurrency kept when the run was finalized."""

        def number(name: str) -> float | None:
            raw = run.get(name)
            return float(raw) if raw not in (None, "") else None

        cpu = workload is Workload.CPU
        peak = number("t_peak")
        return cls(
            tasks=int(number("done") or 0),
            timed=int(number("t_timed") or 0),
            sum_d=number("t_sum_d") or 0.0,
            sum_w=number("t_sum_c" if cpu else "t_sum_d") or 0.0,
            max_w=number("t_max_c" if cpu else "t_max_d") or 0.0,
            first=number("t_first"),
            last=number("t_last"),
            counts=counts,
            cores=cores,
            peak=None if peak is None else int(peak),
        )

    @classmethod
    def from_tasks(cls, tasks: Sequence[TaskRecord], workload: Workload) -> Totals:
        timed = [t for t in tasks if t.started_at is not None and t.finished_at is not None]
        starts = [t.started_at for t in timed if t.started_at is not None]  # narrows only
        ends = [t.finished_at for t in timed if t.finished_at is not None]  # narrows only
        durations = [e - b for b, e in zip(starts, ends, strict=True)]
        work = (
            [t.cpu_s if t.cpu_s is not None else d for t, d in zip(timed, durations, strict=True)]
            if workload is Workload.CPU
            else durations
        )
        return cls(
            tasks=len(tasks),
            timed=len(timed),
            sum_d=sum(durations),
            sum_w=sum(work),
            max_w=max(work, default=0.0),
            first=min(starts) if timed else None,
            last=max(ends) if timed else None,
            counts={state.value: 0 for state in TaskState} | Counter(t.state.value for t in tasks),
            cores=_cores(timed),
            peak=peak_concurrency(zip(starts, ends, strict=True)),
        )


def summarize_totals(
    totals: Totals,
    *,
    workload: Workload,
    slots: int,
    submitted_at: float | None = None,
    finished_at: float | None = None,
    capacity: Capacity | None = None,
) -> Summary:
    """The run's figures from its totals: the one place they are computed. With `capacity`
    (queued strategies) the ideal comes from the workers really alive instead of `slots`."""
    first, last, cores = totals.first, totals.last, totals.cores
    timed = totals.timed > 0 and first is not None and last is not None
    wall_s = last - first if timed else None  # type: ignore[operator]  # `timed`: neither is None
    usable = min(slots, cores) if workload is Workload.CPU and cores else slots
    ideal_s = max(totals.max_w, totals.sum_w / max(1, usable)) if timed else None
    extra: dict[str, Any] = {}
    if capacity is not None and timed:
        assert first is not None and last is not None  # what `timed` says
        window = cap.overlapping(capacity.spans, first, last)
        steps = cap.steps(
            window,
            first,
            last,
            slots_per_worker=capacity.slots_per_worker,
            cap_by_cores=workload is Workload.CPU,
        )
        ideal_s = max(totals.max_w, cap.drain_time(steps, totals.sum_w))
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
    positive_wall = wall_s if wall_s and wall_s > 0 else None
    return Summary(
        tasks=totals.tasks,
        timed=totals.timed,
        wall_s=wall_s,
        latency_s=(finished_at - submitted_at) if submitted_at and finished_at else None,
        sum_s=totals.sum_d,
        work_s=totals.sum_w,
        ideal_s=ideal_s,
        efficiency=(ideal_s / positive_wall) if positive_wall and ideal_s is not None else None,
        speedup=(totals.sum_d / positive_wall) if positive_wall else None,
        peak_concurrency=totals.peak,
        throughput_per_s=(totals.tasks / positive_wall) if positive_wall else None,
        slots=slots,
        cores=cores,
        counts=dict(totals.counts),
        **extra,
    )


def _cores(tasks: Iterable[TaskRecord]) -> int | None:
    """Cores over the distinct hosts that ran the tasks."""
    per_host = {task.host: task.cores for task in tasks if task.host and task.cores}
    return sum(per_host.values()) or None
