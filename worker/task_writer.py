"""The atomic write of a batch of task starts and ends: first writer wins, so no task is ever
counted twice, and the run's counts and totals move with the records in one script call
(`worker/lua/task_write.lua`, which lists its KEYS and ARGV).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import orjson
from redis import Redis
from redis.typing import EncodableT

from contract import keys, scripts
from contract.records import StartRecord, TaskRecord

#: What the script returns when the run record does not exist.
RUN_GONE = -1


class TaskWriter:
    """The atomic write of starts and ends, usable on a client or a pipeline."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._write = scripts.register(redis, "worker", "task_write")

    def start(
        self, run_id: str, starts: Iterable[StartRecord], client: Redis | None = None
    ) -> int | None:
        """Write start markers; RUN_GONE when the run record does not exist, None when there
        were none to write."""
        starts = list(starts)
        return self.write(run_id, starts, (), client) if starts else None

    def finish(
        self, run_id: str, records: Iterable[TaskRecord], client: Redis | None = None
    ) -> int:
        """Write terminal records; returns how many were new (the rest had a writer already)."""
        records = list(records)
        return self.write(run_id, (), records, client) if records else 0

    def write(
        self,
        run_id: str,
        starts: Sequence[StartRecord],
        records: Sequence[TaskRecord],
        client: Redis | None = None,
    ) -> int:
        """Write start markers, then terminal records, in one script call (a flush's round
        trip); returns how many records were new, or RUN_GONE."""
        now = time.time()
        first_started_at = now
        last_finished_at = 0.0
        worker = host = ""
        ran = False
        facts = []
        texts: list[EncodableT] = []
        for record in records:
            started_at, finished_at = record.started_at, record.finished_at
            facts.append((record.index, record.state.value, started_at, finished_at, record.cpu_s))
            texts.append(record.to_json())
            if started_at is not None and started_at < first_started_at:
                first_started_at = started_at
                ran = True
            if finished_at is not None and finished_at > last_finished_at:
                last_finished_at = finished_at
            worker, host = record.worker or worker, record.host or host
        last = max(last_finished_at, first_started_at)
        served = f"{host}|{first_started_at!r}|{last!r}" if ran else ""
        args: list[EncodableT] = [
            self.ttl_s,
            repr(now),
            keys.HISTORY_TTL_S,
            repr(first_started_at),
            keys.ALIVE_TTL_S,
            worker or "?",
            served,
            run_id,
            len(starts),
            orjson.dumps(facts),
        ]
        for start in starts:
            args += (start.index, start.to_json())
        args += texts
        keys_ = [
            keys.run_key(run_id),
            keys.tasks_key(run_id),
            keys.order_key(run_id),
            keys.running_key(run_id),
            keys.throughput_key(int(now)),
            keys.alive_workers_key(),
            keys.served_key(run_id),
            keys.ended_runs_key(),
            keys.run_ends_key(),
        ]
        added: int = self._write(keys=keys_, args=args, client=client)  # a Lua integer
        return added
