"""Reads runs back from Redis: the summary from the run-level totals, tasks only as asked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import orjson
from redis import Redis

from contract import cost, keys, replies, urls_list
from contract.records import RunSpec, StartRecord, TaskRecord
from contract.replies import text
from contract.states import TERMINAL_TASK_STATES, RunState, TaskState
from figures import runfacts
from figures.summary import Capacity, Totals, slots_for, slots_per_worker, summarize_totals
from producer import comparison, hostnote


class RunNotFound(LookupError):
    pass


def _float(value: bytes | str | None) -> float | None:
    decoded = text(value)
    return float(decoded) if decoded else None


def parse_record(value: bytes | str) -> Any:
    """orjson parses a big run's records several times faster than `json.loads`. What it
    refuses and the stdlib accepts (NaN, a lone surrogate) is parsed by the stdlib, so every
    record the workers' `json.dumps` wrote still reads."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def load_run(
    redis: Redis,
    run_id: str,
    *,
    include_tasks: bool = True,
    since: int | None = None,
    offset: int = 0,
    limit: int | None = None,
    read_peak: bool = True,
) -> dict[str, Any]:
    """The run record: spec, state, counts, timestamps, summary, and (optionally) tasks and the
    ones still running.

    The summary comes from the run-level totals the workers keep as tasks end, so its cost does
    not grow with the run. Tasks are read only as asked: with `since=n`, the ones that ended after
    the first n (in the order they ended: a live page fetches only what is new); else a page by
    index, `offset` and `limit` (None: to the end). The peak concurrency of an ended run that
    no worker has finalized yet is read from its tasks (the finalizing worker keeps it), unless
    `read_peak` is False (a list of runs leaves it None rather than read tasks). A read never
    writes.
    """
    raw_run = redis.hgetall(keys.run_key(run_id))
    if not raw_run:
        raise RunNotFound(run_id)
    run = {text(k): text(v) for k, v in raw_run.items()}
    spec = RunSpec.from_dict({**json.loads(run["spec"]), "urls": ()})
    total = int(run["total"])
    first = max(0, offset)
    stop = total if limit is None else min(total, first + limit)
    done = int(run.get("done") or 0)
    task_dicts: list[dict[str, Any]] = []
    running_raw: dict[Any, Any] = {}
    if include_tasks:
        if since is not None:
            task_dicts = read_ended(redis, run_id, since)
        else:
            task_dicts = _read_page(redis, run_id, first, stop)
        running_raw = redis.hgetall(keys.running_key(run_id))
    running_count = len(running_raw) if running_raw else int(redis.hlen(keys.running_key(run_id)))
    ended = {data["index"] for data in task_dicts}
    running = sorted(
        (StartRecord.from_json(value) for value in running_raw.values()), key=lambda s: s.index
    )
    running = [start for start in running if start.index not in ended]
    workers = int(run.get("workers_at_start") or 0)
    submitted_at = _float(run.get("submitted_at"))
    finished_at = _float(run.get("finished_at"))
    chunk_size = int(run.get("chunk_size") or 0) or None
    # The facts kept when the run was finalized, else read live (a run going on, or one a
    # worker has not finalized yet).
    facts = (runfacts.from_record(run) or runfacts.read_live(redis, run_id)) if done else None
    capacity = None
    if facts is not None and facts.spans and not spec.strategy.is_single_job:
        capacity = Capacity(facts.spans, slots_per_worker(spec, chunk_size), facts.served)
    counts = _counts(run)
    whole = since is None and offset == 0 and len(task_dicts) == done and bool(task_dicts)
    cores = facts.cores if facts is not None else None
    totals = Totals.from_fields(run, spec.workload, counts=counts, cores=cores)
    if totals.peak is None and whole:  # every task is here anyway: the exact overlap
        exact = Totals.from_tasks([TaskRecord.from_dict(d) for d in task_dicts], spec.workload)
        totals = replace(totals, peak=exact.peak, cores=totals.cores or exact.cores)
    elif totals.peak is None and read_peak and run.get("state") == RunState.DONE.value:
        # Ended, not finalized yet (`worker.finalize` keeps the peak): read, not kept.
        totals = replace(totals, peak=runfacts.read_peak(redis, run_id))
    summary = summarize_totals(
        totals,
        workload=spec.workload,
        slots=slots_for(spec, workers, chunk_size, tasks=total),
        submitted_at=submitted_at,
        finished_at=finished_at,
        capacity=capacity,
    )
    counts = summary.counts
    counts[TaskState.RUNNING.value] = max(0, min(running_count, total - done))
    counts[TaskState.PENDING.value] = max(0, total - done - counts[TaskState.RUNNING.value])
    record: dict[str, Any] = {
        "id": run_id,
        "spec": spec.settings_dict(),
        "state": run.get("state"),
        "provisional": run.get("state") != RunState.DONE.value
        or (facts is not None and not runfacts.settled(facts, finished_at, time.time())),
        "total": total,
        "done": done,
        "counts": counts,
        "duplicates": int(run.get("duplicates") or 0),
        "jobs": int(run.get("jobs") or 0),
        "workers_at_start": workers,
        "chunk_size": chunk_size,
        "comparison": run.get("comparison") or None,
        "sweep": run.get("sweep") or None,
        "repeat_index": int(run.get("repeat_index") or 0),
        "submitted_at": submitted_at,
        "started_at": _float(run.get("started_at")),
        "finished_at": finished_at,
        "first_task_at": totals.first,
        "summary": summary.to_dict(),
        "host_load": hostnote.with_note(
            facts.host_load if facts is not None else None, comparison=bool(run.get("comparison"))
        ),
        "cost": cost.summarize(redis.hgetall(keys.cost_key(run_id))) if done else None,
    }
    if include_tasks:
        if since is not None:
            record["since"] = since
        else:
            record["offset"] = first
            record["spec"]["urls"] = urls_list.read(redis, str(run["urls_owner"]), first, stop)
        record["tasks"] = task_dicts
        record["running"] = [json.loads(start.to_json()) for start in running]
    return record


def _counts(run: Mapping[str, str | None]) -> dict[str, int]:
    """Ended tasks by state, from the `n_<state>` counters the recorder keeps."""
    counts = {state.value: 0 for state in TaskState}
    for state in TERMINAL_TASK_STATES:
        counts[state.value] = int(run.get(f"n_{state.value}") or 0)
    return counts


def read_ended(
    redis: Redis, run_id: str, since: int, count: int | None = None
) -> list[dict[str, Any]]:
    """The tasks that ended after the first `since` (at most `count`), in finishing order: one
    LRANGE, then one HMGET of just those, so a poll costs what changed, not the run."""
    last = -1 if count is None else max(0, since) + count - 1
    order = redis.lrange(keys.order_key(run_id), max(0, since), last)
    if not order:
        return []
    values = redis.hmget(keys.tasks_key(run_id), order)
    tasks = []
    for value in values:
        if value is None:
            break  # cannot happen (the record lands before its order entry); stay in order
        tasks.append(parse_record(value))
    return tasks


def _read_page(redis: Redis, run_id: str, first: int, last: int) -> list[dict[str, Any]]:
    """Ended tasks with index in [first, last), by index, read in slices of TASKS_PER_READ."""
    tasks: list[dict[str, Any]] = []
    for start in range(first, last, TASKS_PER_READ):
        indexes = list(range(start, min(last, start + TASKS_PER_READ)))
        values = redis.hmget(keys.tasks_key(run_id), indexes)
        tasks.extend(parse_record(value) for value in values if value is not None)
    return tasks


def read_running(redis: Redis, run_id: str) -> list[dict[str, Any]]:
    """Tasks started and not ended (at most the run's concurrency), by index."""
    starts = (StartRecord.from_json(v) for v in redis.hvals(keys.running_key(run_id)))
    return [s.to_dict() for s in sorted(starts, key=lambda s: s.index)]


def iter_tasks(redis: Redis, run_id: str, total: int) -> Iterator[dict[str, Any]]:
    """Every ended task by index, read TASKS_PER_READ at a time: an export of 100,000 tasks
    holds one slice in memory, not the run."""
    for start in range(0, total, TASKS_PER_READ):
        yield from _read_page(redis, run_id, start, min(total, start + TASKS_PER_READ))


#: Task records one HMGET asks for: bounded replies, so no read holds Redis for long.
TASKS_PER_READ = 2000


def list_runs(redis: Redis, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first, without tasks. Runs whose records expired are skipped."""
    run_ids = replies.members(redis.zrevrange(keys.runs_index_key(), offset, offset + limit - 1))
    runs = []
    for run_id in run_ids:
        try:
            runs.append(load_run(redis, text(run_id) or "", include_tasks=False, read_peak=False))
        except RunNotFound:
            redis.zrem(keys.runs_index_key(), run_id)
    return runs


def load_comparison(
    redis: Redis, comparison_id: str, *, include_tasks: bool = True
) -> dict[str, Any]:
    raw = redis.hgetall(keys.comparison_key(comparison_id))
    if not raw:
        raise RunNotFound(comparison_id)
    data = {text(k): text(v) for k, v in raw.items()}
    runs = []
    for run_id in json.loads(data["runs"]):
        try:
            runs.append(load_run(redis, run_id, include_tasks=include_tasks))
        except RunNotFound:
            continue
    states = {run["state"] for run in runs}
    if states == {"done"}:
        state = "done"
    elif states & {"running", "done"}:
        state = "running"
    else:
        state = "queued"
    repeat = int(data["repeat"])
    strategies = json.loads(data["strategies"])
    return {
        "id": comparison_id,
        "spec": json.loads(data["spec"]),
        "total": int(data["total"]),
        "submitted_at": _float(data.get("submitted_at")),
        "state": state,
        "provisional": state != "done" or any(run["provisional"] for run in runs),
        "repeat": repeat,
        "strategies": strategies,
        "runs": runs,
        "rows": comparison.rows(runs, strategies, repeat),
    }
