"""Local concurrency inside one job: sequential, threads, processes and asyncio (which a hybrid
chunk runs on too).

Every runner takes the job's tasks as (index, url) pairs and hands each start and end to the
recorder as it happens, so the browser sees bars appear while the batch runs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

from rq.timeouts import BaseTimeoutException

from contract import connection
from contract.records import StartRecord, TaskRecord
from contract.states import Strategy, TaskState, Workload
from worker import pools
from worker.child_starts import ChildStarts
from worker.cpu import burn
from worker.fetch_async import fetch_async, new_async_session
from worker.recorder import Recorder
from worker.task import TaskContext, crashed_outcome, finish_record, run_one, start_record
from worker.task_writer import TaskWriter

Task = tuple[int, str]
Runner = Callable[[Sequence[Task], TaskContext, Recorder, int], None]


def run_sequential(tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, _: int) -> None:
    """The tutorial's first program: one URL after another."""
    for index, url in tasks:
        if recorder.run_gone:
            return
        recorder.finished(run_one(index, url, ctx, recorder.started))


def run_threads(
    tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, concurrency: int
) -> None:
    """`concurrency` lanes on the process's thread pool, each taking the next task until none is
    left. Each pool thread keeps its HTTP session from job to job."""
    size = max(1, min(concurrency, len(tasks)))
    todo = iter(tasks)
    take = threading.Lock()
    stop = threading.Event()

    def lane() -> None:
        while not stop.is_set() and not recorder.run_gone:
            with take:
                task = next(todo, None)
            if task is None:
                return
            recorder.finished(run_one(task[0], task[1], ctx, recorder.started))

    lanes = [pools.thread_pool().submit(lane) for _ in range(size)]
    try:
        for done in lanes:
            done.result()
    finally:
        stop.set()  # a job timeout lands here: the lanes end after their task in hand


# --- processes -------------------------------------------------------------------------------

_child_starts: ChildStarts | None = None


def _child_init(redis_url: str, ttl_s: int) -> None:
    """Each pool child writes its own start markers over its own Redis connection, off the
    task's thread (`worker.child_starts`: Redis trouble is never the task's). It leaves
    stop signals to its worker (which finishes the job, then shuts the pool down) and exits when
    that worker is gone: a killed worker must not leave idle children behind."""

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # not the worker's handlers, inherited by fork
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global _child_starts
    _child_starts = ChildStarts(TaskWriter(connection.connect(redis_url), ttl_s))
    parent = os.getppid()

    def watch_parent() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch_parent, name="fanout-parent-watch", daemon=True).start()


def _child_run(index: int, url: str, ctx: TaskContext) -> dict[str, Any]:
    def on_start(start: StartRecord) -> None:
        if _child_starts is not None:
            _child_starts.send(ctx.run_id, start)

    return run_one(index, url, ctx, on_start).to_dict()


def run_processes(
    tasks: Sequence[Task],
    ctx: TaskContext,
    recorder: Recorder,
    concurrency: int,
) -> None:
    """The process's pool of forked children, at most `concurrency` of them. A child that dies
    takes its task to one retry in a fresh pool; a task whose retry dies too ends `lost`."""
    pending = list(tasks)
    for attempt in (ctx.attempt, ctx.attempt + 1):
        if not pending:
            return
        attempt_ctx = replace(ctx, attempt=attempt)
        broken: list[Task] = []
        needed = max(1, min(concurrency, len(pending)))
        initargs = (ctx.redis_url, recorder.writer.ttl_s)
        pool = pools.process_pool(needed, max(1, concurrency), _child_init, initargs)
        futures: dict[Future[dict[str, Any]], Task] = {
            pool.submit(_child_run, index, u, attempt_ctx): (index, u) for index, u in pending
        }
        for future in as_completed(futures):
            if recorder.run_gone:  # what the children run next would be written nowhere
                for queued in futures:
                    queued.cancel()
                return
            try:
                recorder.finished(TaskRecord.from_dict(future.result()))
            except BrokenProcessPool:
                broken.append(futures[future])
        if broken:
            pools.discard_process_pool(pool)
        pending = broken
    for index, u in pending:
        start = start_record(index, u, ctx)
        lost = crashed_outcome(RuntimeError("process pool child died twice"))
        record = replace(finish_record(start, lost, None), state=TaskState.LOST)
        recorder.finished(replace(record, started_at=None, finished_at=None, duration_s=None))


# --- asyncio ---------------------------------------------------------------------------------


def run_asyncio(
    tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, concurrency: int
) -> None:
    """One event loop with at most `concurrency` requests in flight. Each in-flight slot is its
    own lane on the timeline (they all share the loop's thread)."""
    asyncio.run(_run_asyncio(tasks, ctx, recorder, max(1, min(concurrency, len(tasks)))))


async def _run_asyncio(
    tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, concurrency: int
) -> None:
    """`concurrency` lanes, each a task taking the next URL until none is left, as the threads
    runner's lanes do. Not a task per URL under a semaphore: a 100,000-URL job would hold
    100,000 coroutines from its start, and the garbage collector walks them all, again and
    again (the client-cpu bench)."""
    loop_thread = threading.current_thread().name
    todo = iter(tasks)  # shared by the lanes: one thread, so each task is taken once
    session = new_async_session(ctx.limits.allow, concurrency)
    cpu_work = ctx.workload is Workload.CPU

    async def lane(slot: str) -> None:
        for index, url in todo:
            if recorder.run_gone:
                return
            start = start_record(index, url, ctx, thread=slot)
            cpu_s = None
            recorder.started(start)  # fanout's own bookkeeping: never the task's outcome
            try:
                outcome = await fetch_async(session, url, ctx.limits, digest=cpu_work)
                if cpu_work and outcome.state is TaskState.OK:
                    before = time.thread_time()
                    burn(outcome.digest, ctx.cpu_rounds)
                    cpu_s = time.thread_time() - before
            except BaseTimeoutException:
                raise  # RQ's job timeout ends the job (`asyncio.run` cancels the other lanes)
            except Exception as exc:
                outcome = crashed_outcome(exc)
            recorder.finished(finish_record(start, outcome, cpu_s))

    async with session:
        await asyncio.gather(*(lane(f"{loop_thread}:slot{n}") for n in range(concurrency)))


RUNNERS: dict[Strategy, Runner] = {
    Strategy.SEQUENTIAL: run_sequential,
    Strategy.THREADS: run_threads,
    Strategy.PROCESSES: run_processes,
    Strategy.ASYNCIO: run_asyncio,
    Strategy.QUEUE: run_sequential,
    # A hybrid chunk runs on the asyncio lanes, not a pool of threads. A hybrid run puts a chunk
    # on every live worker at once, so W worker processes share the host's cores, and the
    # client's CPU per task bounds the run: thread lanes (`requests`, a GIL hand-over at every
    # blocking call) cost about three times the asyncio lanes' (0.9 against 0.3 ms per task on
    # the lab's 2 cores), and on 8 workers that is the difference between a chunk per worker
    # keeping up with asyncio in one process or not (the hybrid-balance bench).
    Strategy.HYBRID: run_asyncio,
}
