"""The worker process's long-lived pools: one of threads, one of forked processes.

Both outlive the job. A ThreadPoolExecutor built per job costs a hybrid worker a large share of
its GIL time (py-spy), and its threads take their keep-alive HTTP sessions with them. A process
pool forked per job pays the fork and each child's Redis and HTTP connections on every job.
Both pools are dropped in a forked child (a fork worker's work-horse, a pool child), where their
threads and children do not exist.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from contract.parent_death import die_with_parent

#: Threads are started only when lanes need them; this only caps a runaway.
MAX_THREADS = 1024

_lock = threading.Lock()
_threads: ThreadPoolExecutor | None = None
_processes: tuple[int, ProcessPoolExecutor] | None = None


def thread_pool() -> ThreadPoolExecutor:
    """The process's thread pool; a job bounds its own concurrency by how many lanes it submits."""
    global _threads
    with _lock:
        if _threads is None:
            _threads = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="fanout")
        return _threads


def process_pool(
    needed: int, limit: int, initializer: Any, initargs: tuple[Any, ...]
) -> ProcessPoolExecutor:
    """A process pool of `needed` to `limit` children: the kept one if its size fits (it never
    runs more than `limit` at once, nor fewer than `needed`), else a fresh one of `needed`."""
    global _processes
    with _lock:
        kept = _processes
        if kept is not None and needed <= kept[0] <= limit and not getattr(kept[1], "_broken", 0):
            return kept[1]
        if _processes is not None:
            _processes[1].shutdown(wait=True, cancel_futures=True)
        if threading.current_thread() is threading.main_thread():  # the kernel's "parent"
            initializer, initargs = _child_start, (os.getpid(), initializer, initargs)
        pool = ProcessPoolExecutor(
            max_workers=needed,
            mp_context=multiprocessing.get_context("fork"),
            initializer=initializer,
            initargs=initargs,
        )
        _processes = (needed, pool)
        return pool


def process_pool_pids() -> set[int]:
    """Pids of the kept process pool's live children (none when there is no pool)."""
    kept = _processes
    return set(getattr(kept[1], "_processes", None) or ()) if kept is not None else set()


def _child_start(parent_pid: int, initializer: Any, initargs: tuple[Any, ...]) -> None:
    """A pool child dies with the worker: a SIGKILLed worker's children would otherwise wait on
    their task queue forever (they hold its write end too, so they never see it close)."""
    die_with_parent(signal.SIGKILL, parent_pid)
    initializer(*initargs)


def discard_process_pool(pool: ProcessPoolExecutor) -> None:
    """A child died: the pool is broken for good, so the next job gets a fresh one."""
    global _processes
    with _lock:
        if _processes is not None and _processes[1] is pool:
            _processes = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Called when the worker stops. Required, not tidy-up: a supervised worker is a
    multiprocessing child, whose exit joins its non-daemon children first (the pool's, idle)."""
    global _threads, _processes
    with _lock:
        threads, processes = _threads, _processes
        _threads = _processes = None
    if processes is not None:
        processes[1].shutdown(wait=True, cancel_futures=True)
    if threads is not None:
        threads.shutdown(wait=False, cancel_futures=True)


def _forget_after_fork() -> None:
    global _lock, _threads, _processes
    _lock = threading.Lock()
    _threads = _processes = None


os.register_at_fork(after_in_child=_forget_after_fork)
