"""Runs and comparisons made by the real writers, for pages and exports that must handle any
record (hostile URLs, every state, a run half-way through) without waiting for workers: the
producer submits them (`producer.submit`, on a queue no worker takes), the workers' script
records their tasks' starts and ends (`worker.task_writer`), and an ended run gets its facts
(`figures.runfacts.keep`) and its peak (`worker.finalize`) as a worker's housekeeping keeps
them. So a change of the records' layout reaches these tests too."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

import redis as redis_lib
from rq import Queue
from rq.serializers import JSONSerializer

from contract import keys
from contract.records import RunSpec, StartRecord, TaskRecord
from contract.settings import Settings
from contract.states import Strategy, TaskState, Workload
from figures import runfacts
from producer import sequence
from producer.reader import load_comparison
from producer.submit import submit_comparison, submit_run
from worker.finalize import finalize_ended_runs
from worker.task_writer import TaskWriter

#: The queue the runs' jobs go to: no worker takes it, so no task runs but those written here.
UNWORKED_QUEUE = "fanout-tests-unworked"
#: Ends written per script call, as a worker flushes them in batches.
BATCH = 1000
WORKER = "w" * 32
HOST = "testhost"


@dataclass(frozen=True)
class _Plan:
    """What write_run was asked for, kept so write_comparison can record it again on a
    comparison's run."""

    urls: tuple[str, ...]
    states: tuple[TaskState, ...]
    strategy: Strategy
    ended: int
    running: int
    submitted_at: float
    #: (start, duration) of each task, in epoch seconds.
    times: tuple[tuple[float, float], ...]
    #: Tasks recorded as their second attempt (the reconciler's retry).
    reruns: frozenset[int] = frozenset()
    #: The pool threads the tasks take in turn.
    threads: int = 2


_PLANS: dict[str, _Plan] = {}


def _queue(client: redis_lib.Redis) -> Queue:
    return Queue(UNWORKED_QUEUE, connection=client, serializer=JSONSerializer)


def _task(plan: _Plan, index: int) -> TaskRecord:
    state = plan.states[index]
    start, duration_s = plan.times[index]
    return TaskRecord(
        index=index,
        url=plan.urls[index],
        state=state,
        status_code=200 if state is TaskState.OK else None,
        bytes=1024,
        error=None if state is TaskState.OK else f'=HYPERLINK("http://x") <b>{state.value}</b>',
        started_at=start,
        finished_at=start + duration_s,
        duration_s=duration_s,
        cpu_s=0.001,
        worker=WORKER,
        host=HOST,
        pid=4242,
        thread=f"fanout_{index % plan.threads}",
        cores=2,
        attempt=2 if index in plan.reruns else 1,
    )


def _record(client: redis_lib.Redis, run_id: str, plan: _Plan, ttl_s: int, first: int = 0) -> None:
    """The plan's ends from task `first` on, then its starts, as the workers write them."""
    writer = TaskWriter(client, ttl_s)
    ends = [_task(plan, i) for i in range(first, plan.ended)]
    for first in range(0, len(ends), BATCH):
        batch = ends[first : first + BATCH]
        assert writer.finish(run_id, batch) == len(batch), run_id
    starts = [
        StartRecord(
            index=i,
            url=plan.urls[i],
            started_at=plan.times[i][0],
            worker=WORKER,
            host=HOST,
            pid=4242,
            thread="fanout_0",
        )
        for i in range(plan.ended, min(len(plan.urls), plan.ended + plan.running))
    ]
    writer.start(run_id, starts)


def _finalize(
    client: redis_lib.Redis, run_id: str, plan: _Plan, host_load: dict[str, Any] | None = None
) -> None:
    """An ended run's facts (one worker served it, no fleet history around it, `host_load`) and
    its peak, kept as a worker's housekeeping keeps them; a run still going is left as it is."""
    if plan.ended == len(plan.urls):
        runfacts.keep(client, run_id, runfacts.RunFacts((), 1, host_load))
        finalize_ended_runs(client, now=time.time() + 3600)


def write_run(
    client: redis_lib.Redis,
    urls: list[str],
    states: list[TaskState],
    *,
    ttl_s: int = 600,
    strategy: Strategy = Strategy.THREADS,
    ended: int | None = None,
    running: int = 0,
    duration_s: float = 0.1,
    timings_s: list[tuple[float, float]] | None = None,
    reruns: Collection[int] = (),
    threads: int = 2,
) -> str:
    """A run of `urls` whose task i ended in `states[i]`, `duration_s` each, on two threads (one
    for sequential). With `ended=n` only the first n have ended and the next `running` are
    running: the run is still going (or queued when nothing has started).

    `timings_s` gives each task its own (start offset, duration) instead; offsets and durations
    that are multiples of 2**-20 s keep the run's figures from its tasks exact (wall time, sums),
    so a test can put them on a rounding tie. The run ends when its last end is written: its
    latency is the writer's clock's. The tasks `reruns` ran as their second attempt; the tasks
    took `threads` pool threads in turn."""
    now = time.time()
    lanes = 1 if strategy is Strategy.SEQUENTIAL else 2
    if timings_s is None:
        timings_s = [((index // lanes) * duration_s, duration_s) for index in range(len(urls))]
    plan = _Plan(
        urls=tuple(urls),
        states=tuple(states),
        strategy=strategy,
        ended=len(urls) if ended is None else ended,
        running=running,
        submitted_at=now - 6,
        times=tuple((now - 5 + offset, duration) for offset, duration in timings_s),
        reruns=frozenset(reruns),
        threads=threads,
    )
    spec = RunSpec(plan.urls, strategy, 2, Workload.FETCH)
    settings = Settings(ttl_s=ttl_s)
    run_id = submit_run(client, _queue(client), spec, settings, now=plan.submitted_at)
    _record(client, run_id, plan, ttl_s)
    _finalize(client, run_id, plan)
    _queue(client).empty()
    _PLANS[run_id] = plan
    return run_id


def end_tasks(
    client: redis_lib.Redis,
    run_id: str,
    *,
    ended: int | None = None,
    host_load: dict[str, Any] | None = None,
    ttl_s: int = 600,
) -> None:
    """More tasks of a run written with write_run ended as planned: the first `ended` (all by
    default). A run whose every task has ended is finalized with `host_load` (the load other
    processes put on its hosts)."""
    plan = _PLANS[run_id]
    ended = len(plan.urls) if ended is None else ended
    later = replace(plan, ended=ended, running=max(0, plan.ended + plan.running - ended))
    _record(client, run_id, later, ttl_s, first=plan.ended)
    _finalize(client, run_id, later, host_load)
    _PLANS[run_id] = later


def end_again(client: redis_lib.Redis, run_id: str, index: int, *, ttl_s: int = 600) -> int:
    """A late second end of task `index` (a zombie's), through the workers' writer: the first
    end stays, and the run counts a duplicate. Returns how many ends were new (0)."""
    return TaskWriter(client, ttl_s).finish(run_id, [_task(_PLANS[run_id], index)])


def write_comparison(
    client: redis_lib.Redis, urls: list[str], run_ids: list[str], *, ttl_s: int = 600
) -> str:
    """A comparison whose runs are recorded as the runs `run_ids` (written first, with
    write_run), in that order: strategies interleaved as the producer orders them (s1 s2 ..,
    then again for each repeat). The comparison's runs have ids of their own
    (`comparison_runs`); the runs `run_ids` are deleted."""
    plans = [_PLANS.pop(run_id) for run_id in run_ids]
    strategies = list(dict.fromkeys(plan.strategy for plan in plans))
    repeat = len(plans) // len(strategies)
    assert [plan.strategy for plan in plans] == strategies * repeat, "not interleaved"
    spec = RunSpec(tuple(urls), Strategy.THREADS, 2, Workload.FETCH)
    queue = _queue(client)
    comparison_id, runs = submit_comparison(
        client,
        queue,
        spec,
        Settings(ttl_s=ttl_s),
        strategies,
        repeat=repeat,
        now=min(plan.submitted_at for plan in plans),
    )
    # This helper releases the runs itself, on its own queue: not the session's conductor.
    client.srem(keys.active_comparisons_key(), comparison_id)
    for run_id, plan in zip(runs, plans, strict=True):
        _record(client, run_id, plan, ttl_s)
        sequence.release(client, queue, comparison_id, live_workers=2)
        _finalize(client, run_id, plan)
    queue.empty()
    for run_id in run_ids:
        client.delete(*keys.run_keys(run_id))
        client.zrem(keys.runs_index_key(), run_id)
    return comparison_id


def comparison_runs(client: redis_lib.Redis, comparison_id: str) -> list[str]:
    """The run ids of a comparison, in its order."""
    comparison = load_comparison(client, comparison_id, include_tasks=False)
    return [run["id"] for run in comparison["runs"]]
