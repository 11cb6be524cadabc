"""The capacity a queued run really had: worker lifetimes turned into slots over time.

A queue or hybrid run is served by whichever workers are alive while it runs, and workers come
and go (a second terminal's `fanout worker`, `--scale`, a crash). Counting the workers alive at
submission made the ideal bound wrong both ways: 193 % efficiency when three workers joined 4 s
into a run, 62 % when workers left. So each worker's lifetime is kept as a span, and the ideal is
the shortest time in which the slots those spans really offered, from the run's first start,
add up to the run's work:

    ideal = max(max_w, T) with T the least t such that  ∫[t0, t0 + t] c(u) du >= sum_w

where ``c(u)`` is the slots alive at ``u`` (workers times the tasks each runs at once; for ``cpu``
workload capped by the cores of the hosts those workers are on) and ``w`` each task's work. A
worker's span is stretched to cover every task it ran, so ``c(u)`` is never below the tasks that
really ran at ``u``: the actual schedule is one of those the bound considers, hence
``ideal <= wall`` and efficiency never exceeds 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from contract.records import WorkerSpan


def stretch(
    spans: Iterable[WorkerSpan], served: Mapping[str, tuple[str, float, float]]
) -> list[WorkerSpan]:
    """Every span widened to cover the tasks its worker ran (`served`: name -> (host, first
    start, last end)); a worker that served but has no span gets one from its tasks alone."""
    by_name = {span.name: span for span in spans}
    for name, (host, first, last) in served.items():
        span = by_name.get(name)
        if span is None:
            by_name[name] = WorkerSpan(name, host, first, last)
        else:
            by_name[name] = WorkerSpan(
                name, span.host, min(span.start, first), max(span.end, last), span.cores
            )
    return sorted(by_name.values(), key=lambda s: (s.start, s.name))


def overlapping(spans: Iterable[WorkerSpan], start: float, end: float) -> list[WorkerSpan]:
    return [span for span in spans if span.start <= end and span.end >= start]


@dataclass(frozen=True)
class Step:
    """From `at` until the next step: `workers` alive, offering `slots` at once."""

    at: float
    workers: int
    slots: float


def steps(
    spans: Sequence[WorkerSpan],
    start: float,
    end: float,
    *,
    slots_per_worker: int,
    cap_by_cores: bool = False,
) -> list[Step]:
    """The piecewise-constant capacity over [start, end], one step per change."""
    cuts = {start}
    cuts.update(s.start for s in spans if start < s.start < end)
    cuts.update(s.end for s in spans if start < s.end < end)
    result: list[Step] = []
    for at in sorted(cuts):
        # Alive on [at, next cut): joined by `at` and not yet gone at `at`.
        alive = [s for s in spans if s.start <= at < s.end]
        slots = float(len(alive) * slots_per_worker)
        if cap_by_cores:
            cores = {span.host: span.cores for span in alive if span.cores}
            if cores:
                slots = min(slots, float(sum(cores.values())))
        if not result or (result[-1].workers, result[-1].slots) != (len(alive), slots):
            result.append(Step(at, len(alive), slots))
    return result


def slot_seconds(capacity: Sequence[Step], end: float) -> float:
    """Slot-seconds offered from the first step to `end`."""
    total = 0.0
    for step, after in zip(capacity, [*capacity[1:], None], strict=True):
        until = end if after is None else min(after.at, end)
        if until > step.at:
            total += step.slots * (until - step.at)
    return total


def drain_time(capacity: Sequence[Step], work: float) -> float:
    """Least time from the first step after which the slot-seconds offered reach `work`; the
    last step's capacity is taken to last. `inf` if no slot is ever offered."""
    if work <= 0 or not capacity:
        return 0.0
    left = work
    for step, after in pairwise(capacity):
        offered = step.slots * (after.at - step.at)
        if offered >= left:
            return (step.at - capacity[0].at) + left / step.slots
        left -= offered
    last = capacity[-1]
    return (last.at - capacity[0].at) + (left / last.slots if last.slots else math.inf)


def changes(capacity: Sequence[Step]) -> list[list[float]]:
    """[[offset from the first step (s), workers alive from then on], ...], one per change."""
    if not capacity:
        return []
    first = capacity[0].at
    result: list[list[float]] = []
    for step in capacity:
        if not result or result[-1][1] != step.workers:
            result.append([round(step.at - first, 3), step.workers])
    return result
