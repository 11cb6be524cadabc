"""Local concurrency inside one job: sequential, threads, processes and asyncio.

Every runner takes the job's tasks as (index, url) pairs and hands each start and end to the
recorder as it happens, so the browser sees bars appear while the batch runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace

from contract.records import TaskRecord
from contract.states import Strategy, TaskState, Workload
from worker.cpu import burn
from worker.fetch_async import fetch_async, new_async_session
from worker.recorder import Recorder, TaskWriter
from worker.task import TaskContext, crashed_outcome, finish_record, run_one, start_record

Task = tuple[int, str]
Runner = Callable[[Sequence[Task], TaskContext, Recorder, int], None]


def run_sequential(tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, _: int) -> None:
    """The tutorial's first program: one URL after another."""
    for index, url in tasks:
        recorder.finished(run_one(index, url, ctx, recorder.started))


def run_threads(
    tasks: Sequence[Task], ctx: TaskContext, recorder: Recorder, concurrency: int
) -> None:
    """A pool of `concurrency` threads, each with its own HTTP session."""
    size = max(1, min(concurrency, len(tasks)))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="fanout") as pool:
        futures = [pool.submit(run_one, index, url, ctx, recorder.started) for index, url in tasks]
        for future in as_completed(futures):
            recorder.finished(future.result())


# --- processes -------------------------------------------------------------------------------

_child_writer: TaskWriter | None = None


def _child_init(redis_url: str, ttl_s: int) -> None:
    """Each pool child writes its own start markers over its own Redis connection."""
    from redis import Redis

    global _child_writer
    _child_writer = TaskWriter(Redis.from_url(redis_url), ttl_s)


def _child_run(index: int, url: str, ctx: TaskContext) -> dict:
    def on_start(start):
        if _child_writer is not None:
            _child_writer.start(ctx.run_id, [start])

    return run_one(index, url, ctx, on_start).to_dict()


def run_processes(
    tasks: Sequence[Task],
    ctx: TaskContext,
    recorder: Recorder,
    concurrency: int,
) -> None:
    """A pool of `concurrency` forked processes. A child that dies takes its task to one retry
    in a fresh pool; a task whose retry dies too ends `lost`."""
    pending = list(tasks)
    for attempt in (ctx.attempt, ctx.attempt + 1):
        if not pending:
            return
        attempt_ctx = replace(ctx, attempt=attempt)
        broken: list[Task] = []
        size = max(1, min(concurrency, len(pending)))
        with ProcessPoolExecutor(
            max_workers=size,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_child_init,
            initargs=(ctx.redis_url, recorder.writer.ttl_s),
        ) as pool:
            futures: dict[Future, Task] = {
                pool.submit(_child_run, index, u, attempt_ctx): (index, u) for index, u in pending
            }
            for future in as_completed(futures):
                try:
                    recorder.finished(TaskRecord.from_dict(future.result()))
                except BrokenProcessPool:
                    broken.append(futures[future])
        pending = broken
    for index, u in pending:
        start = start_record(index, u, ctx)
        lost = crashed_outcome(RuntimeError("process pool child died twice"))
        recorder.finished(_with_state(finish_record(start, lost, None), TaskState.LOST))


def _with_state(record: TaskRecord, state: TaskState) -> TaskRecord:
    return replace(record, state=state, started_at=None, finished_at=None, duration_s=None)


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
    loop_thread = threading.current_thread().name
    free_slots = list(range(concurrency - 1, -1, -1))
    gate = asyncio.Semaphore(concurrency)
    session = new_async_session(ctx.limits.allow, concurrency)

    async def one(index: int, url: str) -> None:
        async with gate:
            slot = free_slots.pop()
            start = start_record(index, url, ctx, thread=f"{loop_thread}:slot{slot}")
            cpu_s = None
            try:
                recorder.started(start)
                outcome = await fetch_async(session, url, ctx.limits)
                if ctx.workload is Workload.CPU and outcome.state is TaskState.OK:
                    before = time.thread_time()
                    burn(outcome.digest, ctx.cpu_rounds)
                    cpu_s = time.thread_time() - before
            except Exception as exc:
                outcome = crashed_outcome(exc)
            finally:
                free_slots.append(slot)
            recorder.finished(finish_record(start, outcome, cpu_s))

    async with session:
        await asyncio.gather(*(one(index, url) for index, url in tasks))


RUNNERS: dict[Strategy, Runner] = {
    Strategy.SEQUENTIAL: run_sequential,
    Strategy.THREADS: run_threads,
    Strategy.PROCESSES: run_processes,
    Strategy.ASYNCIO: run_asyncio,
    Strategy.QUEUE: run_sequential,
    Strategy.HYBRID: run_threads,
}
