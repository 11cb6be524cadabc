"""One task: fetch one URL (for the cpu workload, then burn CPU on its body), timed, attributed."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
from rq.timeouts import BaseTimeoutException

from contract.records import StartRecord, TaskRecord
from contract.states import TaskState, Workload
from worker import identity
from worker.cpu import burn
from worker.fetch import FetchLimits, FetchOutcome
from worker.fetch_sync import fetch, new_session


@dataclass(frozen=True)
class TaskContext:
    """What every task of one job shares."""

    run_id: str
    workload: Workload
    attempt: int
    limits: FetchLimits
    cpu_rounds: int
    redis_url: str


_local = threading.local()


def _forget_sessions_after_fork() -> None:
    """A forked child must not share its parent's keep-alive sockets: both would read replies."""
    _local.__dict__.clear()


os.register_at_fork(after_in_child=_forget_sessions_after_fork)


def thread_session(limits: FetchLimits) -> requests.Session:
    """One HTTP session per thread, reused across tasks and jobs: keep-alive and less client CPU."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = new_session(limits.allow)
    return session


def start_record(index: int, url: str, ctx: TaskContext, thread: str | None = None) -> StartRecord:
    worker, host, pid, thread_name = identity.executor(thread)
    return StartRecord(
        index=index,
        url=url,
        started_at=time.time(),
        worker=worker,
        host=host,
        pid=pid,
        thread=thread_name,
        attempt=ctx.attempt,
    )


def finish_record(
    start: StartRecord, outcome: FetchOutcome, cpu_s: float | None, finished_at: float | None = None
) -> TaskRecord:
    finished_at = time.time() if finished_at is None else finished_at
    return TaskRecord(
        index=start.index,
        url=start.url,
        state=outcome.state,
        status_code=outcome.status_code,
        bytes=outcome.bytes,
        error=outcome.error,
        started_at=start.started_at,
        finished_at=finished_at,
        duration_s=finished_at - start.started_at,
        cpu_s=cpu_s,
        worker=start.worker,
        host=start.host,
        pid=start.pid,
        thread=start.thread,
        cores=identity.cores(),
        attempt=start.attempt,
    )


def crashed_outcome(exc: BaseException) -> FetchOutcome:
    """A bug or an unexpected failure still ends the task, as `error`, with the reason."""
    return FetchOutcome(state=TaskState.ERROR, error=f"{type(exc).__name__}: {exc}"[:300])


def run_one(
    index: int, url: str, ctx: TaskContext, on_start: Callable[[StartRecord], None]
) -> TaskRecord:
    """Run one task in the current thread. Every task ends in a terminal record; only RQ's job
    timeout (raised from SIGALRM into the thread running the job) goes through. `on_start` is
    fanout's bookkeeping, called before the fetch's `try`: a failure there is never taken for
    the target's."""
    start = start_record(index, url, ctx)
    on_start(start)
    cpu_before = time.thread_time()
    try:
        cpu_work = ctx.workload is Workload.CPU
        outcome = fetch(thread_session(ctx.limits), url, ctx.limits, digest=cpu_work)
        if cpu_work and outcome.state is TaskState.OK:
            burn(outcome.digest, ctx.cpu_rounds)
    except BaseTimeoutException:
        raise  # RQ's job timeout ends the job, not just this task
    except Exception as exc:
        outcome = crashed_outcome(exc)
    return finish_record(start, outcome, time.thread_time() - cpu_before)
