"""A run's host load: the cores other processes took from the workers' machines during the run,
and the cores fanout's own services took, from the workers' CPU samples (`contract.fleet`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from contract.fleet import ROOT_PART, Sample, WorkerLife

#: Cores kept busy by other processes than fanout's (its workers and its stack's services),
#: averaged over a run, above which the run's figures are flagged as distorted (a quarter of a
#: core).
BUSY_OTHERS_CORES = 0.25

#: How the host load names a part of the stack: the worker part less the workers themselves is
#: their supervisor.
SERVICE_NAMES = {"worker": "supervisor", ROOT_PART: "fanout up", "": "unnamed"}


def _at(samples: Sequence[Sample], when: float) -> Sample | None:
    """The counters at `when`, interpolated between the samples around it."""
    if not samples or when < samples[0].at or when > samples[-1].at:
        return None
    i = bisect_left([s.at for s in samples], when)
    if samples[i].at == when or i == 0:
        return samples[i]
    before, after = samples[i - 1], samples[i]
    f = (when - before.at) / (after.at - before.at) if after.at > before.at else 0.0

    def between(a: float, b: float) -> float:
        return a + f * (b - a)

    stack = {
        part: between(before.stack.get(part, 0.0), after.stack.get(part, 0.0))
        for part in {*before.stack, *after.stack}
    }
    return Sample(when, between(before.busy, after.busy), between(before.own, after.own), stack)


def _own_delta(series: Sequence[Sample], start: float, end: float) -> float:
    """A worker's own CPU in [start, end], for the part of it the worker lived."""
    a = _at(series, min(max(start, series[0].at), series[-1].at))
    b = _at(series, max(min(end, series[-1].at), series[0].at))
    return b.own - a.own if a is not None and b is not None else 0.0


def _machine_load(
    members: Sequence[WorkerLife], samples: dict[str, list[Sample]], start: float, end: float
) -> tuple[float, dict[str, float]] | None:
    """(other processes' CPU seconds, each own service's) on one machine in [start, end], or
    None until one worker's samples cover the window.

    The machine's busy CPU comes from the first worker whose samples cover the window, and so
    does its stack's CPU: the workers of that stack are in its counts too (they bear the mark),
    so each one's own CPU is taken out of its part, which leaves their supervisor."""
    reference: tuple[WorkerLife, Sample, Sample] | None = None
    own: dict[str, float] = {}
    for life in members:
        series = samples[life.span.name]
        if not series:
            continue
        first, last = _at(series, start), _at(series, end)
        if reference is None and first is not None and last is not None:
            reference = (life, first, last)
        own[life.span.name] = _own_delta(series, start, end)
    if reference is None:
        return None
    life, first, last = reference
    services: dict[str, float] = {}
    if life.stack:
        for part in {*first.stack, *last.stack}:
            services[part] = last.stack.get(part, 0.0) - first.stack.get(part, 0.0)
        for member in members:
            if member.stack == life.stack and member.span.name in own:
                services[member.part] = services.get(member.part, 0.0) - own[member.span.name]
        services = {part: max(0.0, cpu) for part, cpu in services.items()}
    others = last.busy - first.busy - sum(own.values()) - sum(services.values())
    return max(0.0, others), services


def host_load(
    lives: Sequence[WorkerLife],
    samples: dict[str, list[Sample]],
    start: float,
    end: float,
) -> dict[str, Any] | None:
    """The cores each machine spent during [start, end] on other processes than fanout's
    (`others_cores`, what makes a host busy) and on fanout's own services other than its workers
    (`own_cores`: Redis, the origin, the web app, the supervisor, when they bear the worker's
    stack mark). Keyed by the hosts on the machine. None until samples cover the window (they
    come once a second)."""
    if end <= start:
        return None
    by_machine: dict[str, list[WorkerLife]] = {}
    for life in lives:
        if life.span.name in samples:
            by_machine.setdefault(life.machine or life.span.host, []).append(life)
    others: dict[str, float] = {}
    own: dict[str, dict[str, float]] = {}
    seconds = end - start
    for members in by_machine.values():
        load = _machine_load(members, samples, start, end)
        if load is None:
            continue
        hosts = ", ".join(sorted({life.span.host for life in members}))
        others[hosts] = round(load[0] / seconds, 3)
        own[hosts] = {
            SERVICE_NAMES.get(part, part): round(cpu / seconds, 3)
            for part, cpu in sorted(load[1].items())
            if round(cpu / seconds, 3) > 0
        }
    if not others:
        return None
    worst = max(others.values())
    return {
        "others_cores": others,
        "max_others_cores": worst,
        "own_cores": own,
        "threshold_cores": BUSY_OTHERS_CORES,
        "busy": worst > BUSY_OTHERS_CORES,
    }
