"""What a run cost the operating system: memory, processes, threads, context switches, CPU.

Each worker measures the jobs it runs (`worker.cost`) and keeps one `WorkerCost` per run in the
run's cost hash (`keys.cost_key`), merged over its jobs. Readers add the workers up per host and
over the run (`summarize`). The figures are the lesson's: threads share their process's memory,
so a threads run adds a few MB to one process; a processes run adds its children, each with
memory of its own.

Memory is the job's process's resident set (RSS) plus each child's unique set (USS: the pages
only that child holds). A forked child's RSS counts the copy-on-write pages it still shares with
its parent; its USS does not, so the sum is not counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass
class WorkerCost:
    """One worker's cost over the jobs of one run it ran."""

    host: str
    jobs: int = 0
    #: RSS of the job's process when its first job of the run started: the idle worker.
    memory_idle_bytes: int = 0
    #: Peak of the job's process's RSS plus its children's USS, over the samples of its jobs.
    memory_peak_bytes: int = 0
    #: The most any one job added over the idle process (its peak less its start).
    memory_added_bytes: int = 0
    #: The processes that ran the tasks: the job's process and its children (a job's most).
    processes: int = 0
    #: Of those, children forked while the jobs ran (a kept pool's children were forked before).
    processes_started: int = 0
    #: Threads of those processes at their peak (a job's most).
    threads: int = 0
    #: Threads seen that did not exist when their job started (a kept pool's were there).
    threads_started: int = 0
    ctx_switches_voluntary: int = 0
    ctx_switches_involuntary: int = 0
    cpu_user_s: float = 0.0
    cpu_system_s: float = 0.0
    #: Readings taken: one at each job's start and end, and one per sampler tick in between.
    samples: int = 0

    def merged(self, job: WorkerCost) -> WorkerCost:
        """This worker's cost with one more job of the same run: the idle memory stays the
        first job's, the `_PEAKS` are the most of any job, every other figure adds up."""
        if not self.jobs:
            return job
        joined = {}
        for name in SUMMED:
            mine, theirs = getattr(self, name), getattr(job, name)
            if name != "memory_idle_bytes":
                joined[name] = max(mine, theirs) if name in _PEAKS else mine + theirs
        return replace(self, host=job.host, **joined)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkerCost | None:
        """None for a value this version cannot read: a cost is never worth failing a read."""
        try:
            data = json.loads(text)
            return cls(**{k: v for k, v in data.items() if k in _FIELDS})
        except (ValueError, TypeError, AttributeError):
            return None


_FIELDS = frozenset(f.name for f in fields(WorkerCost))

#: The figures a host's and the run's cost sum over their workers, in the order they are shown.
SUMMED = tuple(f.name for f in fields(WorkerCost) if f.name != "host")

#: The figures a worker keeps the most of over its jobs (`WorkerCost.merged`).
_PEAKS = frozenset({"memory_peak_bytes", "memory_added_bytes", "processes", "threads"})


def _summed(costs: list[WorkerCost]) -> dict[str, Any]:
    figures = {"workers": len(costs)}
    figures.update({name: sum(getattr(cost, name) for cost in costs) for name in SUMMED})
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def summarize(per_worker: Mapping[Any, str | bytes]) -> dict[str, Any] | None:
    """The run's cost per host and in total, from its cost hash (worker -> `WorkerCost` JSON);
    None when no worker measured any job of it. A host's figures are its workers' sums: its
    peak memory is the sum of each worker's peak, an upper bound when they peaked apart."""
    costs = [c for c in map(WorkerCost.from_json, per_worker.values()) if c is not None]
    if not costs:
        return None
    hosts = sorted({cost.host for cost in costs})
    return {
        "hosts": {host: _summed([c for c in costs if c.host == host]) for host in hosts},
        "total": _summed(costs),
    }
