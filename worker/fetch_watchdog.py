"""Times out the asyncio strategy's fetches from one task per event loop.

aiohttp's own timeouts arm two or three timers per request (the total, and a read timeout that is
cancelled and armed again on every chunk received). For a tiny task those timers are a large share
of its client CPU (the client-cpu bench; figures in bench/RESULTS.md). Here,
every `interval_s` one task looks at the fetches in flight and cancels those past their task's
deadline or silent for longer than the read timeout; `fetch_async` turns that cancellation into a
TIMEOUT outcome. A fetch so ends at most `interval_s` after its bound.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

from worker.fetch import _Progress

#: How often the watchdog looks, at most: a timeout fires up to this late.
MAX_INTERVAL_S = 0.1


class Watchdog:
    """The fetches in flight on one event loop, and the task that watches them."""

    def __init__(self) -> None:
        self._watched: dict[asyncio.Task[Any], _Progress] = {}
        self._runner: asyncio.Task[None] | None = None
        self.interval_s = MAX_INTERVAL_S

    def watch(self, task: asyncio.Task[Any], fetch: _Progress, shortest_bound_s: float) -> None:
        self._watched[task] = fetch
        self.interval_s = min(self.interval_s, shortest_bound_s / 4)
        if self._runner is None:
            self._runner = asyncio.get_running_loop().create_task(self._run())

    def forget(self, task: asyncio.Task[Any]) -> None:
        self._watched.pop(task, None)

    async def _run(self) -> None:
        try:
            while self._watched:
                await asyncio.sleep(self.interval_s)
                now = time.monotonic()
                for task, fetch in list(self._watched.items()):
                    if fetch.stopped is None and (reason := fetch.overdue(now)) is not None:
                        fetch.stopped = reason
                        task.cancel()
        finally:
            self._runner = None


_watchdogs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watchdog] = (
    weakref.WeakKeyDictionary()
)


def watchdog() -> Watchdog:
    """The running loop's watchdog (a job's `asyncio.run` makes a loop, so each job has one)."""
    loop = asyncio.get_running_loop()
    found = _watchdogs.get(loop)
    if found is None:
        found = _watchdogs[loop] = Watchdog()
    return found
