"""The arq worker of the peers scenario: `python -m bench.peer_arq`, settings from the
environment. Tuned as arq's docs allow: `poll_delay` 10 ms (its default, 0.5 s, would idle
between small jobs), `max_jobs` per workload, no result kept (`keep_result` 0), one try.
The body is aiohttp on one ClientSession per worker, the counter arq's own Redis pool.
`workers` and `enqueuer` are the bench's side (`bench.peers`)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import aiohttp
from arq import create_pool, func
from arq.connections import RedisSettings
from arq.worker import run_worker

from bench import peer_body

FUNCTION = "peer_fetch"
#: The bench enqueues this many jobs at once (its pool's connections are limited).
ENQUEUE_IN_FLIGHT = 16


async def fetch(
    ctx: dict[str, Any], url: str, workload: str, rounds: int, key: str, total: int
) -> int:
    async with ctx["session"].get(url) as response:
        body = await response.read()
    size = peer_body.work(body, workload, rounds)
    if await ctx["redis"].incr(key) == total:
        await ctx["redis"].rpush(peer_body.done_key(key), time.time())
    return size


async def startup(ctx: dict[str, Any]) -> None:
    ctx["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["session"].close()


class WorkerSettings:
    functions = [func(fetch, name=FUNCTION, max_tries=1, keep_result=0)]
    redis_settings = RedisSettings.from_dsn(
        os.environ.get(peer_body.BROKER_ENV, "redis://127.0.0.1:6379/15")
    )
    queue_name = os.environ.get(peer_body.QUEUE_ENV, "arq:queue")
    max_jobs = int(os.environ.get(peer_body.MAX_JOBS_ENV, "10"))
    poll_delay = 0.01
    keep_result = 0
    on_startup = startup
    on_shutdown = shutdown


def workers(name: str, queue: str, processes: int, max_jobs: int) -> tuple[peer_body.Commands, str]:
    """The bench's worker commands for a workload, and the note saying how they are tuned."""
    command = (["-m", "bench.peer_arq"], {peer_body.MAX_JOBS_ENV: str(max_jobs)})
    return [command] * processes, f"{processes} x arq worker, max_jobs {max_jobs}, poll_delay 10 ms"


def enqueuer(broker_url: str, queue: str) -> peer_body.Enqueue:
    def enqueue(arg_lists: list[tuple[Any, ...]]) -> None:
        async def main() -> None:
            pool = await create_pool(RedisSettings.from_dsn(broker_url))
            gate = asyncio.Semaphore(ENQUEUE_IN_FLIGHT)

            async def one(args: tuple[Any, ...]) -> None:
                async with gate:
                    await pool.enqueue_job(FUNCTION, *args, _queue_name=queue)

            try:
                await asyncio.gather(*(one(args) for args in arg_lists))
            finally:
                await pool.aclose()

        asyncio.run(main())

    return enqueue


if __name__ == "__main__":
    run_worker(WorkerSettings)
