"""Where a task ran, as its records say."""

from __future__ import annotations

import os

from worker import identity


def test_a_forked_child_names_its_own_pid() -> None:
    """The pid is kept, not asked per task: a fork (RQ's work-horse, a pool child) notes anew."""
    assert identity.executor("t")[2] == os.getpid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, str(identity.executor("t")[2]).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    assert int(os.read(read, 64)) == child
    os.close(read)


def test_a_task_record_carries_its_start_and_outcome_field_by_field() -> None:
    """finish_record builds the record positionally (it is made once per task): every field
    must still land where its name says."""
    from contract.states import TaskState, Workload
    from worker.fetch import FetchLimits, FetchOutcome
    from worker.guard import Allowlist
    from worker.task import TaskContext, finish_record, start_record

    limits = FetchLimits(1.0, 2.0, 3.0, 100, 2, Allowlist())
    ctx = TaskContext("run", Workload.FETCH, 3, limits, 10, "redis://127.0.0.1:1")
    start = start_record(7, "http://a.example/x", ctx, thread="lane")
    outcome = FetchOutcome(
        state=TaskState.HTTP_ERROR, status_code=404, bytes=12, error="why", digest=b""
    )
    record = finish_record(start, outcome, 0.25, finished_at=start.started_at + 2)

    assert record.to_dict() == {
        "index": 7,
        "url": "http://a.example/x",
        "state": "http_error",
        "status_code": 404,
        "bytes": 12,
        "error": "why",
        "started_at": start.started_at,
        "finished_at": start.started_at + 2,
        "duration_s": 2.0,
        "cpu_s": 0.25,
        "worker": identity.worker_name(),
        "host": identity.host(),
        "pid": os.getpid(),
        "thread": "lane",
        "cores": identity.cores(),
        "attempt": 3,
    }
