"""Waiting for runs to finish, for producers that block (the CLI, benchmarks, tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from redis import Redis

from contract import keys, runfacts
from producer.reader import load_run


class RunTimeout(TimeoutError):
    pass


def run_state(redis: Redis, run_id: str) -> tuple[str, int, int]:
    """(state, done, total) in one round trip, cheap enough to poll."""
    state, done, total = redis.hmget(keys.run_key(run_id), "state", "done", "total")
    return (
        state.decode() if isinstance(state, bytes) else state or "",
        int(done or 0),
        int(total or 0),
    )


def wait_for_run(
    redis: Redis,
    run_id: str,
    *,
    timeout_s: float = 3600,
    poll_s: float = 0.2,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Block until every task of the run has a terminal record; returns the full run record."""
    deadline = time.monotonic() + timeout_s
    while True:
        state, done, total = run_state(redis, run_id)
        if on_progress is not None:
            on_progress(done, total)
        if state == "done":
            return load_run(redis, run_id)
        if not state:
            return load_run(redis, run_id)  # raises RunNotFound
        if time.monotonic() > deadline:
            raise RunTimeout(f"run {run_id} not done after {timeout_s:.0f} s ({done}/{total})")
        time.sleep(poll_s)


def wait_until_final(
    redis: Redis,
    run_id: str,
    record: dict[str, Any],
    *,
    timeout_s: float = runfacts.SAMPLES_LATE_S + 5,
    poll_s: float = 0.2,
    include_tasks: bool = True,
) -> dict[str, Any]:
    """A done run's `record` once it is final (`provisional` false): its host load comes with
    the workers' next CPU samples, a second or so after its last task. After `timeout_s` the
    record is returned as it is (still provisional)."""
    deadline = time.monotonic() + timeout_s
    while record.get("provisional") and time.monotonic() < deadline:
        time.sleep(poll_s)
        record = load_run(redis, run_id, include_tasks=include_tasks)
    return record


def follow_run(
    redis: Redis,
    run_id: str,
    on_tasks: Callable[[list[dict[str, Any]], int, int], None],
    *,
    timeout_s: float = 3600,
    poll_s: float = 0.2,
) -> dict[str, Any]:
    """`wait_for_run` for a producer that shows each task as it ends: `on_tasks(new, done,
    total)` gets the tasks ended since the last call, in the order they ended. Returns the full
    run record once every task has ended.

    The run is marked done in the same script that writes its last task, and `load_run` reads
    the run before its tasks, so the poll that sees the run done also gets every task left."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while True:
        record = load_run(redis, run_id, since=seen)
        seen += len(record["tasks"])
        on_tasks(record["tasks"], seen, record["total"])
        if record["state"] == "done":
            return load_run(redis, run_id)
        if time.monotonic() > deadline:
            raise RunTimeout(
                f"run {run_id} not done after {timeout_s:.0f} s ({seen}/{record['total']})"
            )
        time.sleep(poll_s)
