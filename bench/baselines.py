"""Baselines measured in the same run as fanout, on the same origin.

Direct baselines run in a fresh interpreter (`python -m bench.baselines NAME ARGS_JSON RESULT`),
timed around the work alone: the original tutorial's three programs, a bare ThreadPoolExecutor,
bare aiohttp, and the CPU workload run by hand. Bare-RQ baselines enqueue `bench.jobs` functions
with `enqueue_many` for the bench's bare workers (see `bench.stack`) and time them the same way
fanout's runs are timed: from the enqueue to the last job's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from bench.jobs import session_get
from worker.cpu import burn

if TYPE_CHECKING:
    from bench.stack import Stack

# --- the tutorial, as it was written -----------------------------------------------------------


def _tutorial_fetch(url: str) -> None:
    response = requests.get(url)
    print(f"[+] {urlsplit(url).netloc} [{url}]: {len(response.content)} bytes.")


def tutorial_sequential(urls: list[str]) -> None:
    for url in urls:
        _tutorial_fetch(url)


def _all_at_once(
    kind: type[threading.Thread] | type[multiprocessing.Process], urls: list[str]
) -> None:
    """A thread or a process per URL, all started, then all joined."""
    workers = [kind(target=_tutorial_fetch, args=(url,)) for url in urls]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def tutorial_threads(urls: list[str]) -> None:
    _all_at_once(threading.Thread, urls)


def tutorial_processes(urls: list[str]) -> None:
    _all_at_once(multiprocessing.Process, urls)


# --- bare pools --------------------------------------------------------------------------------


def pool_threads(urls: list[str], concurrency: int) -> None:
    """A ThreadPoolExecutor, one keep-alive session per thread."""
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(session_get, urls))


def aiohttp_gather(urls: list[str], concurrency: int, gated: bool = False) -> None:
    """One event loop, at most `concurrency` requests in flight (the connector's limit; `gated`:
    a semaphore's too)."""
    import aiohttp

    async def main() -> None:
        gate = asyncio.Semaphore(concurrency) if gated else contextlib.nullcontext()
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(url: str) -> None:
                async with gate, session.get(url) as response:
                    await response.read()

            await asyncio.gather(*(one(url) for url in urls))

    asyncio.run(main())


# --- the cpu workload by hand ------------------------------------------------------------------


def _cpu_task(url: str, rounds: int) -> int:
    return burn(hashlib.sha256(session_get(url)).digest(), rounds)


def cpu_sequential(urls: list[str], rounds: int) -> None:
    for url in urls:
        _cpu_task(url, rounds)


def cpu_threads(urls: list[str], concurrency: int, rounds: int) -> None:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(_cpu_task, urls, [rounds] * len(urls)))


def cpu_processes(urls: list[str], concurrency: int, rounds: int) -> None:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=concurrency, mp_context=context) as pool:
        list(pool.map(_cpu_task, urls, [rounds] * len(urls)))


DIRECT = {
    fn.__name__: fn
    for fn in (
        tutorial_sequential,
        tutorial_threads,
        tutorial_processes,
        pool_threads,
        aiohttp_gather,
        cpu_sequential,
        cpu_threads,
        cpu_processes,
    )
}


def run_direct(stack: Stack, name: str, urls: list[str], **kwargs: Any) -> float:
    """Run a direct baseline in a fresh interpreter; returns its wall time in seconds (and
    leaves the origin's CPU seconds over the whole child in `stack.last_origin_s`)."""
    args_file = stack.work_dir / f"direct-{name}.args.json"
    args_file.write_text(json.dumps({"urls": urls, **kwargs}))
    origin_before = stack.origin_cpu_s()
    result = stack.work_dir / f"direct-{name}.json"
    wall_s = stack.timed_child(name, result, "-m", "bench.baselines", name, str(args_file))
    stack.last_origin_s = stack.origin_cpu_s() - origin_before
    return wall_s


# --- bare RQ -----------------------------------------------------------------------------------


def enqueue_bare(
    stack: Stack, func: str, arg_lists: list[tuple[Any, ...]], result_ttl: int = 3600
) -> tuple[float, list[str]]:
    """Enqueue `func(*args)` for each args with one `enqueue_many`; returns (t0, job ids)."""
    from rq import Queue

    datas = [Queue.prepare_data(func, args=args, result_ttl=result_ttl) for args in arg_lists]
    started = time.time()
    jobs = stack.queue("bare").enqueue_many(datas)
    return started, [job.id for job in jobs]


def _done_count(stack: Stack) -> int:
    queue = stack.queue("bare")
    pipe = stack.client.pipeline(transaction=False)
    pipe.zcard(queue.finished_job_registry.key)
    pipe.zcard(queue.failed_job_registry.key)
    return sum(pipe.execute())


def job_times(stack: Stack, job_ids: list[str]) -> tuple[float, float, int]:
    """(first started_at, last ended_at, failed jobs) of finished bare jobs, epoch seconds."""
    from rq.job import Job
    from rq.utils import utcparse

    pipe = stack.client.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.hmget(Job.key_for(job_id), "started_at", "ended_at", "status")
    rows = pipe.execute()
    starts = [utcparse(r[0].decode()).timestamp() for r in rows if r[0]]
    ends = [utcparse(r[1].decode()).timestamp() for r in rows if r[1]]
    failed = sum(1 for r in rows if (r[2] or b"").decode() != "finished")
    return min(starts), max(ends), failed


def run_bare(stack: Stack, func: str, arg_lists: list[tuple[Any, ...]]) -> dict[str, float]:
    """Enqueue and wait: `e2e_s` from the enqueue to the last job's end, `span_s` from the first
    job's start to the last one's end."""
    from fanout.children import wait_until

    before = _done_count(stack)
    origin_before = stack.origin_cpu_s()
    t0, job_ids = enqueue_bare(stack, func, arg_lists)
    count = len(job_ids)
    wait_until(lambda: _done_count(stack) >= before + count, 300, f"{count} bare jobs")
    stack.last_origin_s = stack.origin_cpu_s() - origin_before
    first, last, failed = job_times(stack, job_ids)
    if failed:
        raise RuntimeError(f"{failed} of {count} bare jobs of {func} failed")
    time.sleep(0.3)
    return {"e2e_s": last - t0, "span_s": last - first}


def main(argv: list[str]) -> None:
    name, args_file, result = argv
    kwargs = json.loads(Path(args_file).read_text())
    func = DIRECT[name]
    started = time.perf_counter()
    func(**kwargs)
    wall_s = time.perf_counter() - started
    Path(result).write_text(json.dumps({"wall_s": wall_s}))


if __name__ == "__main__":
    main(sys.argv[1:])
