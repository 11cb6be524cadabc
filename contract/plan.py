"""How a run becomes RQ jobs: its parts, each part's typed message, id and timeout.

Both sides enqueue: the producer a run's jobs at submission, the workers the next run of a
comparison once the previous one has ended (see `producer.sequence`) and a retry of a dead
worker's tasks. One definition here keeps them identical.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rq import Queue

from contract import jobs, keys
from contract.records import RunSpec
from contract.states import Strategy

#: Seconds added to a job's timeout beyond the worst case of its tasks' deadlines.
JOB_TIMEOUT_MARGIN_S = 60


@dataclass(frozen=True)
class RunTasks:
    """The message of one `run_tasks` job: a part of a run, as [index, url] pairs."""

    run_id: str
    part: int
    tasks: list[list[Any]] = field(hash=False)
    strategy: str
    concurrency: int
    workload: str
    attempt: int = 1

    _FIELDS = ("run_id", "part", "tasks", "strategy", "concurrency", "workload", "attempt")

    def to_args(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    @classmethod
    def from_job(cls, args: Sequence[Any], kwargs: dict[str, Any]) -> RunTasks:
        """From a job's arguments, positional (as enqueued) or keyword (retries of older
        versions); ValueError if they are not a run_tasks message."""
        values = dict(zip(cls._FIELDS, args, strict=False))
        values.update({k: v for k, v in kwargs.items() if k in cls._FIELDS})
        try:
            return cls(
                run_id=str(values["run_id"]),
                part=int(values["part"]),
                tasks=[[int(i), str(u)] for i, u in values["tasks"]],
                strategy=str(values["strategy"]),
                concurrency=int(values["concurrency"]),
                workload=str(values["workload"]),
                attempt=int(values.get("attempt", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a run_tasks message: {exc}") from None

    @property
    def job_id(self) -> str:
        return keys.job_id(self.run_id, self.part, self.attempt)


def hybrid_chunk_size(spec: RunSpec, workers: int) -> int:
    """One chunk per live worker, as even as whole tasks allow: each worker then runs
    ceil(n / (workers * concurrency)) waves, the fewest any cut into jobs can give, and none is
    left a spare chunk while another idles. With no live worker, how many will come is unknown:
    chunks of one wave each, which any number of them share out."""
    if workers < 1:
        return max(1, spec.concurrency)
    return max(1, -(-len(spec.urls) // workers))


def partition(spec: RunSpec, chunk_size: int = 1) -> list[list[list[Any]]]:
    """The parts of a run, one RQ job each, as lists of [index, url] pairs."""
    tasks: list[list[Any]] = [[index, url] for index, url in enumerate(spec.urls)]
    if spec.strategy is Strategy.QUEUE:
        return [[task] for task in tasks]
    if spec.strategy is Strategy.HYBRID:
        return [tasks[i : i + chunk_size] for i in range(0, len(tasks), chunk_size)]
    return [tasks]


def job_timeout_s(spec: RunSpec, part_size: int, task_deadline_s: float) -> int:
    """Worst case of one part: its waves of tasks, each bounded by the task deadline."""
    lanes = 1 if spec.strategy in (Strategy.SEQUENTIAL, Strategy.QUEUE) else spec.concurrency
    waves = -(-part_size // max(1, lanes))
    return int(waves * task_deadline_s) + JOB_TIMEOUT_MARGIN_S


def iter_job_datas(
    run_id: str,
    spec: RunSpec,
    chunk_size: int,
    *,
    task_deadline_s: float,
    failure_ttl_s: int,
    comparison_id: str | None = None,
) -> Iterator[Any]:
    """RQ's enqueue data for every part of the run, attempt 1, one at a time: a run of 100,000
    one-URL jobs is enqueued in slices."""
    meta = {"comparison": comparison_id} if comparison_id else None
    for part, tasks in enumerate(partition(spec, chunk_size)):
        message = RunTasks(
            run_id, part, tasks, spec.strategy.value, spec.concurrency, spec.workload.value
        )
        yield Queue.prepare_data(
            jobs.RUN_TASKS,
            args=message.to_args(),
            job_id=message.job_id,
            timeout=job_timeout_s(spec, len(tasks), task_deadline_s),
            result_ttl=jobs.RESULT_TTL_S,
            failure_ttl=failure_ttl_s,
            meta=meta,
            description=job_description(spec.strategy, run_id, part),
        )


def job_description(strategy: Strategy, run_id: str, part: int) -> str:
    """What `rq info` and the Workers page show for a job; it names the strategy first."""
    return f"fanout {strategy.value} run {run_id} part {part}"


def described_strategy(description: str | None) -> str | None:
    """The strategy a `job_description` names (None for any other description): what the
    process tree reads to tell a worker's pool children working from kept idle."""
    words = (description or "").split()
    if len(words) == 6 and words[0] == "fanout" and words[2] == "run" and words[4] == "part":
        return words[1]
    return None


def parts_count(spec: RunSpec, chunk_size: int) -> int:
    """How many jobs the run becomes."""
    if spec.strategy is Strategy.QUEUE:
        return len(spec.urls)
    if spec.strategy is Strategy.HYBRID:
        return -(-len(spec.urls) // max(1, chunk_size))
    return 1
