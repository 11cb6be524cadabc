"""The summary maths over whole task records, as the tests build them by hand (the product reads
the run-level totals instead: `figures.summary.summarize_totals`)."""

from __future__ import annotations

from collections.abc import Sequence

from contract.records import TaskRecord
from contract.states import Workload
from figures.summary import Capacity, Summary, Totals, summarize_totals


def ideal_lower_bound(work_s: Sequence[float], slots: int) -> float:
    """``max(max_d, sum_d / slots)``: see `figures.summary`'s docstring."""
    if not work_s:
        return 0.0
    return max(max(work_s), sum(work_s) / max(1, slots))


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
    return summarize_totals(
        Totals.from_tasks(tasks, workload),
        workload=workload,
        slots=slots,
        submitted_at=submitted_at,
        finished_at=finished_at,
        capacity=capacity,
    )
