"""Waiting for runs to finish, for producers that block (the CLI, benchmarks, tests).

A waiter blocks on a read of what ends its wait (XREAD BLOCK): the run-ends stream gets a run's
end in the script that writes its last task, and the workers' beats stream gets each CPU sample,
which is what brings an ended run's host load. Each blocking read is bounded, and the run is
read again when it times out, so a notification missed (a stream expired, a run ended by a
worker that does not write one) costs one such interval, never the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

from redis import Redis
from redis.typing import KeyT, StreamIdT

from contract import connection, keys
from contract.replies import text
from figures import runfacts
from producer.reader import load_run

#: The longest a blocking read waits before the run is read anyway.
FALLBACK_S = 1.0

#: How often a waiter that shows progress (a bar, each task's line) reads it.
PROGRESS_S = 0.2


class RunTimeout(TimeoutError):
    pass


class Wakeups:
    """Blocking reads of one stream, each from where the last read left it."""

    def __init__(self, redis: Redis, stream: str, since: str = "0-0") -> None:
        self.redis = redis
        #: The stream -> the id of the last entry read ("0-0": from the first).
        self.last: dict[KeyT, StreamIdT] = {stream: since}

    @classmethod
    def from_newest(cls, redis: Redis, stream: str) -> Wakeups:
        """Reads from the stream's newest entry: what is added from now on wakes it."""
        newest = cast("list[tuple[bytes | str, Any]]", redis.xrevrange(stream, count=1))
        return cls(redis, stream, text(newest[0][0]) if newest else "0-0")

    def wait(self, block_s: float) -> list[dict[str, str]]:
        """The fields of every entry added since the last read, after waiting up to `block_s`
        for one; empty when none came."""
        # BLOCK 0 would wait forever: at least a millisecond; and at most half the client's
        # socket timeout, which would otherwise take a long wait for a dead Redis.
        block_s = min(block_s, connection.SOCKET_TIMEOUT_S / 2)
        reply = cast(
            "list[tuple[bytes | str, list[tuple[bytes | str, dict[bytes | str, bytes | str]]]]]",
            self.redis.xread(self.last, block=max(1, round(block_s * 1000))) or [],
        )  # RESP2's reply (redis-py's default protocol), typed for every protocol
        entries = []
        for stream, items in reply:
            for entry_id, fields in items:
                self.last[text(stream)] = text(entry_id)
                entries.append({text(k): text(v) for k, v in fields.items()})
        return entries


class RunEnd:
    """Wakes on the run's entry in the run-ends stream, until `timeout_s` from its making. Made
    before the run's state is first read: an end written after that is read, one written before
    is seen in the state."""

    def __init__(self, redis: Redis, run_id: str, timeout_s: float) -> None:
        self.run_id = run_id
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.ends = Wakeups.from_newest(redis, keys.run_ends_key())

    def wait(self, block_s: float, done: int, total: int) -> None:
        """Until the run's end is read, or `block_s` has passed: other runs' ends are read and
        passed over. RunTimeout (saying `done` of `total`) once the timeout has passed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RunTimeout(
                f"run {self.run_id} not done after {self.timeout_s:.0f} s ({done}/{total})"
            )
        until = time.monotonic() + min(block_s, remaining)
        while (left := until - time.monotonic()) > 0:
            if any(entry.get("run") == self.run_id for entry in self.ends.wait(left)):
                return


def run_state(redis: Redis, run_id: str) -> tuple[str, int, int]:
    """(state, done, total) in one round trip, cheap enough to poll."""
    state, done, total = redis.hmget(keys.run_key(run_id), "state", "done", "total")
    return text(state) or "", int(done or 0), int(total or 0)


def wait_for_run(
    redis: Redis,
    run_id: str,
    *,
    timeout_s: float = 3600,
    poll_s: float = FALLBACK_S,
    on_progress: Callable[[int, int], None] | None = None,
    include_tasks: bool = True,
) -> dict[str, Any]:
    """Block until every task of the run has a terminal record; returns the run record (its
    tasks too unless `include_tasks` is False). Woken by the run's end; between wakes the
    state is read every `poll_s`, and every `PROGRESS_S` at most for `on_progress`."""
    interval = min(poll_s, PROGRESS_S) if on_progress is not None else poll_s
    end = RunEnd(redis, run_id, timeout_s)
    while True:
        state, done, total = run_state(redis, run_id)
        if on_progress is not None:
            on_progress(done, total)
        if state == "done" or not state:  # no state: raises RunNotFound
            return load_run(redis, run_id, include_tasks=include_tasks)
        end.wait(interval, done, total)


def wait_until_final(
    redis: Redis,
    run_id: str,
    record: dict[str, Any],
    *,
    timeout_s: float = runfacts.SAMPLES_LATE_S + 5,
    poll_s: float = FALLBACK_S,
    include_tasks: bool = True,
) -> dict[str, Any]:
    """A done run's `record` once it is final (`provisional` false): its host load comes with
    the workers' next CPU samples, a second or so after its last task. The record is read again
    when a sample taken after the run's end lands, and every `poll_s` anyway. After `timeout_s`
    the record is returned as it is (still provisional)."""
    if not record.get("provisional"):
        return record
    deadline = time.monotonic() + timeout_s
    finished_at = float(record.get("finished_at") or 0.0)
    # From the samples of the seconds before the end (stream ids are Redis's clock in ms, the
    # samples' `at` the workers'): one that landed before this wait began still wakes it.
    since_ms = max(0, int((finished_at - 5) * 1000))
    samples = Wakeups(redis, keys.worker_beats_key(), f"{since_ms}-0")
    while record.get("provisional"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        entries = samples.wait(min(poll_s, remaining))
        if entries and all(float(entry.get("at") or 0.0) < finished_at for entry in entries):
            continue  # samples from before the end bring no host load
        record = load_run(redis, run_id, include_tasks=include_tasks)
    return record


def follow_run(
    redis: Redis,
    run_id: str,
    on_tasks: Callable[[list[dict[str, Any]], int, int], None],
    *,
    timeout_s: float = 3600,
    poll_s: float = PROGRESS_S,
) -> dict[str, Any]:
    """`wait_for_run` for a producer that shows each task as it ends: `on_tasks(new, done,
    total)` gets the tasks ended since the last call, in the order they ended, read every
    `poll_s` and at once when the run ends. Returns the run-level record (`load_run` with
    `include_tasks=False`) as of its end: its tasks all went to `on_tasks`.

    The run is marked done in the same script that writes its last task, and `load_run` reads
    the run before its tasks, so the read that sees the run done also gets every task left."""
    end = RunEnd(redis, run_id, timeout_s)
    seen = 0
    while True:
        record = load_run(redis, run_id, since=seen)
        seen += len(record["tasks"])
        on_tasks(record["tasks"], seen, record["total"])
        if record["state"] == "done":
            for field in ("tasks", "running", "since"):
                record.pop(field, None)
            return record
        end.wait(poll_s, seen, record["total"])
