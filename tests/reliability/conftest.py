"""Fixtures of the fault-injection suite: private stacks on loopback that a test may break.

Every scenario that kills, floods or fuzzes gets its own redis-server (AOF on, in a temp dir),
so nothing it does reaches the session's Redis, and the shared Redis on 6379 is never touched.
Figures are printed with a `[figure]` prefix: `pytest -s tests/reliability | grep figure`
collects what docs/reliability.md quotes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
import redis as redis_lib
import requests

from tests.support import (
    Service,
    alive_workers,
    start_conductor,
    start_redis,
    start_worker,
    wait_until,
)
from tests.support import start_web as start_web_service

T = TypeVar("T")

#: High enough that a test's own bursts never meet the submission limit it does not test.
UNLIMITED = "1000000/minute"


def in_own_thread(func: Callable[[], T]) -> T:
    """Run `func` in a fresh thread and return (or raise) what it did.

    Playwright's sync API and `asyncio.run` both refuse to start where an event loop already
    runs, and a session-scoped Playwright (tests/web's browser) keeps one running in the main
    thread; a thread of its own has none, whatever ran before.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(func).result()


def figure(text: str) -> None:
    """A measured figure, quoted in docs/reliability.md."""
    print(f"[figure] {text}")


def start_web(
    log_dir: Path, env: dict[str, str], *, processes: int = 2, name: str = "web"
) -> Service:
    """`fanout web` with every one of its gunicorn processes known to be serving."""
    service = start_web_service(log_dir, env, processes=processes, name=name)

    def all_serving() -> bool:
        requests.get(f"{service.url}/healthz", timeout=5)  # a new connection each time
        return len(serving_pids(service)) >= processes

    wait_until(all_serving, 30, f"{processes} gunicorn processes answering")
    return service


def serving_pids(web: Service) -> set[int]:
    """gunicorn processes that have answered a request: each keeps its own prometheus histogram
    file in the metrics directory `fanout web` makes under FANOUT_DATA_DIR."""
    port = web.url.rsplit(":", 1)[1]
    metrics_dir = Path(web.extra["data_dir"]) / f"prometheus-{port}"
    return {
        int(match.group(1))
        for path in metrics_dir.glob("histogram_*.db")
        if (match := re.fullmatch(r"histogram_(\d+)\.db", path.name))
    }


@dataclass
class Stack:
    """A private Redis with whatever web and workers a test adds; stopped in reverse order."""

    log_dir: Path
    env: dict[str, str]
    redis: Service
    client: redis_lib.Redis
    services: list[Service] = field(default_factory=list)

    def add_web(self, processes: int = 2, **env: str) -> Service:
        service = start_web(self.log_dir, dict(self.env, **env), processes=processes)
        self.services.append(service)
        return service

    def add_workers(self, count: int) -> list[Service]:
        """`count` supervisors of one worker each; with the first, the stack's conductor."""
        if not any(service.name == "conductor" for service in self.services):
            self.services.append(start_conductor(self.log_dir, self.env))
        before = len(alive_workers(self.client))
        started = [
            start_worker(self.log_dir, self.env, name=f"worker-{len(self.services)}-{n}")
            for n in range(count)
        ]
        self.services.extend(started)
        wait_until(
            lambda: len(alive_workers(self.client)) >= before + count, 30, f"{count} workers"
        )
        return started

    def restart_redis(self) -> None:
        """Start redis-server again on the same port and directory: it replays its AOF."""
        port = int(self.redis.url.rsplit(":", 1)[1].split("/")[0])
        self.redis = start_redis(self.log_dir, port=port)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop(timeout_s=10)
        self.redis.stop()


@pytest.fixture
def private_stack(tmp_path: Path, stack_env: dict[str, str]) -> Iterator[Callable[..., Stack]]:
    """Factory: `private_stack(**env)` starts a private redis-server and returns its Stack."""
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        redis_service = start_redis(tmp_path)
        full_env = dict(stack_env, REDIS_URL=redis_service.url, **env)
        stack = Stack(
            tmp_path, full_env, redis_service, redis_lib.Redis.from_url(redis_service.url)
        )
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
        for service in stack.services:
            if service.name.startswith("web-"):
                assert "Traceback" not in service.log(), service.log()[-4000:]
