"""Reads runs back from Redis, with their summary computed from the task records."""

from __future__ import annotations

import json
from typing import Any

import orjson
from redis import Redis

from contract import keys, runfacts
from contract.records import RunSpec, StartRecord, TaskRecord
from contract.states import RunState, TaskState
from contract.summary import Capacity, slots_for, slots_per_worker, summarize
from producer import comparison


class RunNotFound(LookupError):
    pass


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _float(value: bytes | str | None) -> float | None:
    text = _text(value)
    return float(text) if text else None


def _parse(value: bytes | str) -> Any:
    """orjson parses a 2,000-task run's records about 5x faster than `json.loads`. What it
    refuses and the stdlib accepts (NaN, a lone surrogate) is parsed by the stdlib, so every
    record the workers' `json.dumps` wrote still reads."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def _by_index(task: dict[str, Any]) -> int:
    return task["index"]


def _in_finishing_order(
    task_dicts: list[dict[str, Any]], order: list[bytes]
) -> list[dict[str, Any]]:
    """The tasks named by a slice of the order list, in its order. The order is read after the
    tasks, so an index whose record was not read yet can only be at its tail: stopping there
    keeps `since + len(tasks)` a true position for the next read."""
    by_index = {data["index"]: data for data in task_dicts}
    tasks = []
    for raw in order:
        data = by_index.get(int(raw))
        if data is None:
            break
        tasks.append(data)
    return tasks


def load_run(
    redis: Redis, run_id: str, *, include_tasks: bool = True, since: int | None = None
) -> dict[str, Any]:
    """The run record: spec, state, counts, timestamps, summary, and (optionally) the tasks
    ended so far by index, and the ones still running. With `since=n`, only the tasks that ended
    after the first n (in the order they ended), so a live page fetches only what is new."""
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.run_key(run_id))
    pipe.hgetall(keys.tasks_key(run_id))
    pipe.hgetall(keys.running_key(run_id))
    pipe.lrange(keys.order_key(run_id), since or 0, -1)
    raw_run, raw_tasks, raw_running, new_order = pipe.execute()
    if not raw_run:
        raise RunNotFound(run_id)
    run = {_text(k): _text(v) for k, v in raw_run.items()}
    spec = RunSpec.from_dict(json.loads(run["spec"]))
    task_dicts = sorted((_parse(value) for value in raw_tasks.values()), key=_by_index)
    tasks = [TaskRecord.from_dict(data) for data in task_dicts]
    running = sorted(
        (StartRecord.from_json(value) for value in raw_running.values()), key=lambda s: s.index
    )
    ended = {task.index for task in tasks}
    running = [start for start in running if start.index not in ended]
    workers = int(run.get("workers_at_start") or 0)
    submitted_at = _float(run.get("submitted_at"))
    finished_at = _float(run.get("finished_at"))
    chunk_size = int(run.get("chunk_size") or 0) or None
    facts = run_facts(redis, run_id, run) if tasks else None
    capacity = None
    if facts is not None and facts.spans and not spec.strategy.is_single_job:
        capacity = Capacity(facts.spans, slots_per_worker(spec, chunk_size), facts.served)
    summary = summarize(
        tasks,
        workload=spec.workload,
        slots=slots_for(spec, workers, chunk_size),
        submitted_at=submitted_at,
        finished_at=finished_at,
        capacity=capacity,
    )
    counts = summary.counts
    counts[TaskState.RUNNING.value] = len(running)
    counts[TaskState.PENDING.value] = max(0, len(spec.urls) - len(tasks) - len(running))
    record: dict[str, Any] = {
        "id": run_id,
        "spec": spec.to_dict(),
        "state": run.get("state"),
        "provisional": run.get("state") != RunState.DONE.value,
        "total": len(spec.urls),
        "done": len(tasks),
        "counts": counts,
        "duplicates": int(run.get("duplicates") or 0),
        "jobs": int(run.get("jobs") or 0),
        "workers_at_start": workers,
        "chunk_size": int(run.get("chunk_size") or 0) or None,
        "comparison": run.get("comparison") or None,
        "repeat_index": int(run.get("repeat_index") or 0),
        "submitted_at": submitted_at,
        "started_at": _float(run.get("started_at")),
        "finished_at": finished_at,
        "summary": summary.to_dict(),
        "host_load": facts.host_load if facts is not None else None,
    }
    if include_tasks and since is not None:
        record["since"] = since
        record["tasks"] = _in_finishing_order(task_dicts, new_order)
        record["running"] = [json.loads(start.to_json()) for start in running]
    elif include_tasks:
        record["tasks"] = task_dicts
        record["running"] = [json.loads(start.to_json()) for start in running]
    return record


def run_facts(redis: Redis, run_id: str, run: dict[str, Any]) -> runfacts.RunFacts:
    """The facts kept when the run was finalized, else read live (a run going on, or one a
    worker has not finalized yet)."""
    kept = runfacts.from_record(run)
    if kept is not None:
        return kept
    return runfacts.read_live(redis, run_id)


def list_runs(redis: Redis, *, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Newest first, without tasks. Runs whose records expired are skipped."""
    run_ids = redis.zrevrange(keys.runs_index_key(), offset, offset + limit - 1)
    runs = []
    for run_id in run_ids:
        try:
            runs.append(load_run(redis, _text(run_id) or "", include_tasks=False))
        except RunNotFound:
            redis.zrem(keys.runs_index_key(), run_id)
    return runs


def load_comparison(
    redis: Redis, comparison_id: str, *, include_tasks: bool = True
) -> dict[str, Any]:
    raw = redis.hgetall(keys.comparison_key(comparison_id))
    if not raw:
        raise RunNotFound(comparison_id)
    data = {_text(k): _text(v) for k, v in raw.items()}
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
    repeat = int(data.get("repeat") or 1)
    strategies = json.loads(data.get("strategies") or "null") or list(
        dict.fromkeys(run["spec"]["strategy"] for run in runs)
    )
    return {
        "id": comparison_id,
        "spec": json.loads(data["spec"]),
        "submitted_at": _float(data.get("submitted_at")),
        "state": state,
        "provisional": state != "done",
        "repeat": repeat,
        "strategies": strategies,
        "runs": runs,
        "rows": comparison.rows(runs, strategies, repeat),
    }
