"""What a run's figures need beyond its tasks: the workers' spans around it and the load other
processes put on their hosts. Read live while the run goes, then kept in the run's record once
it has ended (`snapshot`), so the figures outlive the fleet's one-hour history.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis import Redis

from contract import fleet, keys
from contract.records import WorkerSpan
from figures import capacity, hostload
from figures.summary import peak_concurrency

#: Seconds after a run's end before its snapshot is taken: the workers' CPU samples come once a
#: second, and the load over the run is interpolated between the samples around its end.
SETTLE_S = 1.5

#: After this long without a sample past the end, the run is kept without its host load.
SAMPLES_LATE_S = 15.0


@dataclass(frozen=True)
class RunFacts:
    spans: tuple[WorkerSpan, ...]
    served: int
    host_load: dict[str, Any] | None
    #: Cores over the distinct hosts that ran the run's tasks (None if unknown).
    cores: int | None = None
    #: Whether every worker near the run has a CPU sample past its end: until then a later
    #: sample (another worker's) can still move the host load.
    sampled_past_end: bool = True


def window(served: dict[str, tuple[str, float, float]]) -> tuple[float, float] | None:
    """First start and last end over every task that ran."""
    if not served:
        return None
    return min(first for _, first, _ in served.values()), max(last for *_, last in served.values())


def settled(facts: RunFacts, finished_at: float | None, now: float) -> bool:
    """Whether an ended run's facts are complete: its host load is in, from a sample past its
    end of every worker near it (so no later sample moves it), or none will come (no worker span
    near it, or not every sample past its end within `SAMPLES_LATE_S`: workers stopped). Until
    then the run is not final, and its facts are not kept."""
    if not facts.spans or finished_at is None:
        return True
    if facts.host_load is not None and facts.sampled_past_end:
        return True
    return now - finished_at > SAMPLES_LATE_S


def read_live(redis: Redis, run_id: str, *, now: float | None = None) -> RunFacts:
    now = time.time() if now is None else now
    served = fleet.read_served(redis, run_id)
    lives = fleet.read_lives(redis, now=now)
    span = window(served)
    if span is None:
        return RunFacts((), 0, None)
    start, end = span
    spans = capacity.overlapping(
        capacity.stretch((life.span for life in lives), served), start, end
    )
    near = [life for life in lives if life.span.start <= end and life.span.end >= start]
    samples = fleet.read_samples(redis, (life.span.name for life in near), start, end)
    load = hostload.host_load(near, samples, start, end)
    past_end = all(series and series[-1].at >= end for series in samples.values())
    per_host = {span.host: span.cores for span in spans if span.name in served and span.cores}
    return RunFacts(tuple(spans), len(served), load, sum(per_host.values()) or None, past_end)


def read_peak(redis: Redis, run_id: str) -> int:
    """The run's peak concurrency: the one figure that needs every task's interval, read in
    slices (HSCAN). The worker that finalizes a run keeps it in the record (`t_peak`), so this
    runs once per run, not per read."""
    intervals = []
    for _, raw in redis.hscan_iter(keys.tasks_key(run_id), count=2000):
        record = json.loads(raw)
        if record.get("started_at") is not None and record.get("finished_at") is not None:
            intervals.append((record["started_at"], record["finished_at"]))
    return peak_concurrency(intervals)


def keep(redis: Redis, run_id: str, facts: RunFacts) -> None:
    """Keep the facts in the run's record (first writer wins)."""
    run = keys.run_key(run_id)
    pipe = redis.pipeline(transaction=False)
    pipe.hsetnx(run, "capacity", json.dumps([s.to_list() for s in facts.spans]))
    pipe.hsetnx(run, "served_workers", facts.served)
    pipe.hsetnx(run, "host_load", json.dumps(facts.host_load))
    if facts.cores:
        pipe.hsetnx(run, "cores", facts.cores)
    pipe.execute()


def from_record(run: Mapping[str, str | None]) -> RunFacts | None:
    """The snapshot kept in a run's record (its hash, decoded), if it was taken."""
    raw = run.get("capacity")
    if not raw:
        return None
    try:
        spans = tuple(WorkerSpan.from_list(item) for item in json.loads(raw))
        host_load = json.loads(run.get("host_load") or "null")
        served = int(run.get("served_workers") or 0)
        cores = int(run.get("cores") or 0) or None
    except (ValueError, TypeError):
        return None
    return RunFacts(spans, served, host_load, cores)
