"""Runs written straight into Redis, for pages and exports that must handle any record
(hostile URLs, every state) without waiting for workers."""

from __future__ import annotations

import json
import secrets
import time

import redis as redis_lib

from contract import keys
from contract.records import RunSpec, TaskRecord
from contract.states import Strategy, TaskState, Workload


def write_run(
    client: redis_lib.Redis, urls: list[str], states: list[TaskState], *, ttl_s: int = 600
) -> str:
    """A finished run of `urls` whose task i ended in `states[i]`, 0.1 s each, on two threads."""
    run_id = secrets.token_hex(6)
    now = time.time()
    spec = RunSpec(tuple(urls), Strategy.THREADS, 2, Workload.FETCH)
    tasks = {}
    for index, (url, state) in enumerate(zip(urls, states, strict=True)):
        start = now - 5 + (index // 2) * 0.1
        tasks[str(index)] = TaskRecord(
            index=index,
            url=url,
            state=state,
            status_code=200 if state is TaskState.OK else None,
            bytes=1024,
            error=None if state is TaskState.OK else f'=HYPERLINK("http://x") <b>{state.value}</b>',
            started_at=start,
            finished_at=start + 0.1,
            duration_s=0.1,
            cpu_s=0.001,
            worker="w" * 32,
            host="testhost",
            pid=4242,
            thread=f"fanout_{index % 2}",
            cores=2,
        ).to_json()
    with client.pipeline() as pipe:
        pipe.hset(
            keys.run_key(run_id),
            mapping={
                "id": run_id,
                "spec": json.dumps(spec.to_dict()),
                "strategy": spec.strategy.value,
                "state": "done",
                "total": len(urls),
                "done": len(urls),
                "jobs": 1,
                "submitted_at": repr(now - 6),
                "started_at": repr(now - 5),
                "finished_at": repr(now - 4),
                "workers_at_start": 2,
                "comparison": "",
            },
        )
        pipe.hset(keys.tasks_key(run_id), mapping=tasks)
        pipe.zadd(keys.runs_index_key(), {run_id: now - 6})
        for key in keys.run_keys(run_id):
            pipe.expire(key, ttl_s)
        pipe.execute()
    return run_id
