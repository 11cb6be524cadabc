"""The arq worker of the peers scenario: `python -m bench.peer_arq`, settings from the
environment. Tuned as arq's docs allow: `poll_delay` 10 ms (its default, 0.5 s, would idle
between small jobs), `max_jobs` per workload, no result kept (`keep_result` 0), one try.
The body is aiohttp on one ClientSession per worker, the counter arq's own Redis pool."""

from __future__ import annotations

import os
import time
from typing import Any

import aiohttp
from arq import func
from arq.connections import RedisSettings
from arq.worker import run_worker

from bench import peer_body

FUNCTION = "peer_fetch"


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


if __name__ == "__main__":
    run_worker(WorkerSettings)
