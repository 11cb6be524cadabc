"""Runs and comparisons written straight into Redis in the real key format, for pages and
exports that must handle any record (hostile URLs, every state, a run half-way through)
without waiting for workers."""

from __future__ import annotations

import json
import secrets
import time

import redis as redis_lib

from contract import keys, urls_list
from contract.records import RunSpec, StartRecord, TaskRecord
from contract.states import Strategy, TaskState, Workload
from contract.summary import Totals


def _task(index: int, url: str, state: TaskState, start: float, duration_s: float) -> str:
    return TaskRecord(
        index=index,
        url=url,
        state=state,
        status_code=200 if state is TaskState.OK else None,
        bytes=1024,
        error=None if state is TaskState.OK else f'=HYPERLINK("http://x") <b>{state.value}</b>',
        started_at=start,
        finished_at=start + duration_s,
        duration_s=duration_s,
        cpu_s=0.001,
        worker="w" * 32,
        host="testhost",
        pid=4242,
        thread=f"fanout_{index % 2}",
        cores=2,
    ).to_json()


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
    comparison: str = "",
    timings_s: list[tuple[float, float]] | None = None,
    latency_s: float = 2.0,
) -> str:
    """A run of `urls` whose task i ended in `states[i]`, `duration_s` each, on two threads (one
    for sequential). With `ended=n` only the first n have ended and the next `running` are
    running: the run is still going (or queued when nothing has started).

    `timings_s` gives each task its own (start offset, duration) instead; offsets and durations
    that are multiples of 2**-20 s keep the run's figures exact (wall time, sums), so a test can
    put them on a rounding tie. `latency_s` is from submission to the end."""
    run_id = secrets.token_hex(6)
    now = time.time()
    ended = len(urls) if ended is None else ended
    lanes = 1 if strategy is Strategy.SEQUENTIAL else 2
    spec = RunSpec(tuple(urls), strategy, 2, Workload.FETCH)
    if timings_s is None:
        timings_s = [((index // lanes) * duration_s, duration_s) for index in range(len(urls))]
    starts = [now - 5 + offset for offset, _ in timings_s]
    tasks = {str(i): _task(i, urls[i], states[i], starts[i], timings_s[i][1]) for i in range(ended)}
    in_flight = {
        str(i): StartRecord(
            index=i,
            url=urls[i],
            started_at=starts[i],
            worker="w" * 32,
            host="testhost",
            pid=4242,
            thread="fanout_0",
        ).to_json()
        for i in range(ended, min(len(urls), ended + running))
    }
    state = "done" if ended == len(urls) else "running" if ended or running else "queued"
    fields = {
        "id": run_id,
        "spec": json.dumps(spec.settings_dict()),
        "strategy": spec.strategy.value,
        "state": state,
        "total": len(urls),
        "done": ended,
        "jobs": 1,
        "submitted_at": repr(now - 6),
        "workers_at_start": 2,
        "comparison": comparison,
    }
    if state != "queued":
        fields["started_at"] = repr(now - 5)
    if state == "done":
        fields["finished_at"] = repr(now - 6 + latency_s)
    fields.update(totals_fields([TaskRecord.from_json(t) for t in tasks.values()], state))
    with client.pipeline() as pipe:
        pipe.hset(keys.run_key(run_id), mapping=fields)
        urls_list.store(pipe, run_id, urls, ttl_s)
        if tasks:
            pipe.hset(keys.tasks_key(run_id), mapping=tasks)
            pipe.rpush(keys.order_key(run_id), *range(ended))
        if in_flight:
            pipe.hset(keys.running_key(run_id), mapping=in_flight)
        pipe.zadd(keys.runs_index_key(), {run_id: now - 6})
        for key in keys.run_keys(run_id):
            pipe.expire(key, ttl_s)
        pipe.execute()
    return run_id


def totals_fields(records: list[TaskRecord], state: str) -> dict[str, object]:
    """The run-level fields the workers keep as tasks end (`worker.task_writer`): counts by state,
    the `t_*` totals, and the peak a finalized run keeps."""
    fields: dict[str, object] = {}
    for record in records:
        name = f"n_{record.state.value}"
        fields[name] = int(fields.get(name, 0)) + 1  # type: ignore[call-overload]
    totals = Totals.from_tasks(records, Workload.FETCH)
    cpu = Totals.from_tasks(records, Workload.CPU)
    fields.update(t_timed=totals.timed, t_sum_d=repr(totals.sum_d), t_sum_c=repr(cpu.sum_w))
    if totals.timed:
        fields.update(
            t_max_d=repr(totals.max_w),
            t_max_c=repr(cpu.max_w),
            t_first=repr(totals.first),
            t_last=repr(totals.last),
        )
    if state == "done":  # finalized, as a worker's housekeeping leaves it
        fields.update(t_peak=totals.peak, served_workers=1, capacity="[]", host_load="null")
    return fields


def write_comparison(
    client: redis_lib.Redis, urls: list[str], run_ids: list[str], *, ttl_s: int = 600
) -> str:
    """A comparison of the runs `run_ids` (written first, with write_run), in that order."""
    comparison_id = secrets.token_hex(6)
    spec = RunSpec(tuple(urls), Strategy.THREADS, 2, Workload.FETCH)
    strategies = [client.hget(keys.run_key(run_id), "strategy").decode() for run_id in run_ids]
    with client.pipeline() as pipe:
        pipe.hset(
            keys.comparison_key(comparison_id),
            mapping={
                "id": comparison_id,
                "spec": json.dumps(spec.to_dict()),
                "total": len(urls),
                "runs": json.dumps(run_ids),
                "strategies": json.dumps(strategies),
                "repeat": 1,
                "submitted_at": repr(time.time() - 6),
            },
        )
        pipe.expire(keys.comparison_key(comparison_id), ttl_s)
        for run_id in run_ids:
            pipe.hset(keys.run_key(run_id), "comparison", comparison_id)
        pipe.execute()
    return comparison_id
