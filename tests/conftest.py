"""Shared fixtures: a private redis-server, the origin and real worker processes, over loopback.

Nothing here touches the shared Redis on 6379. Session-scoped services are started once; tests
keep apart by using their own run ids.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from contract.settings import Settings
from tests.support import (
    Service,
    alive_workers,
    start_conductor,
    start_origin,
    start_redis,
    start_worker,
    wait_until,
)

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

#: Every app the suite makes, in this process or as a `fanout web` child, checks each API reply
#: against the models its route declares (web.operations.check_reply, Flask's FANOUT_ config).
os.environ["FANOUT_CHECK_REPLIES"] = "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its own node id. Schemathesis names one item per API operation but gives
    them all the test function's id (it sets `_nodeid`, which pytest 9 no longer reads), and
    pytest-xdist schedules by id: under `make test`'s workers only one operation of sixteen was
    fuzzed. A duplicate gets the id pytest 9 builds from its name; the assert below says so
    loudly if a later pytest moves that private attribute again."""
    counts = Counter(item.nodeid for item in items)
    for item in items:
        if counts[item.nodeid] > 1 and item.parent is not None:
            item._id = item.parent._id.child(item.name)  # type: ignore[attr-defined]
    duplicates = [nodeid for nodeid, n in Counter(i.nodeid for i in items).items() if n > 1]
    assert not duplicates, f"tests sharing a node id: {duplicates}"


@pytest.fixture(scope="session")
def service_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def redis_service(service_logs: Path) -> Iterator[Service]:
    service = start_redis(service_logs)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def redis_url(redis_service: Service) -> str:
    return redis_service.url


@pytest.fixture(scope="session")
def origin_service(service_logs: Path) -> Iterator[Service]:
    service = start_origin(service_logs, dict(os.environ))
    yield service
    service.stop()
    assert "Traceback" not in service.log(), service.log()


@pytest.fixture(scope="session")
def origin_url(origin_service: Service) -> str:
    return origin_service.url


@pytest.fixture(scope="session")
def stack_env(redis_url: str, origin_url: str) -> dict[str, str]:
    """The environment every fanout process of the test stack gets."""
    port = origin_url.rsplit(":", 1)[1]
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(
        REDIS_URL=redis_url,
        ORIGIN_URL=origin_url,
        ORIGIN_PORT=port,
        FANOUT_ALLOW_HOSTS=f"127.0.0.1:{port},localhost:{port}",
        FANOUT_TASK_DEADLINE_S="5",
        FANOUT_READ_TIMEOUT_S="3",
        FANOUT_CONNECT_TIMEOUT_S="2",
        # The suite submits in bursts from one address; tests of the limit set their own.
        FANOUT_RATE_LIMIT_SUBMIT="off",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def settings(stack_env: dict[str, str]) -> Settings:
    return Settings.from_env(stack_env)


@pytest.fixture(scope="session")
def redis_client(redis_url: str) -> redis_lib.Redis:
    return redis_lib.Redis.from_url(redis_url)


@pytest.fixture(scope="session")
def workers(
    service_logs: Path, stack_env: dict[str, str], redis_client: redis_lib.Redis
) -> Iterator[list[Service]]:
    """Two supervised workers and a conductor, like `make up`'s default."""
    started = [start_worker(service_logs, stack_env, name=f"worker-{n}") for n in range(1, 3)]
    started.append(start_conductor(service_logs, stack_env))
    wait_until(lambda: len(alive_workers(redis_client)) >= 2, 30, "2 live workers")
    yield started
    for service in started:
        service.stop()


#: A busy loop for a number of seconds: a CPU hog for the busy-host tests.
HOG = "import time\nend = time.time() + {s}\nwhile time.time() < end: pass\n"


@pytest.fixture
def private_redis_service(tmp_path: Path) -> Iterator[Service]:
    """A redis-server of the test's own: for tests that count commands, reset statistics or
    need a Redis no session worker reads."""
    service = start_redis(tmp_path)
    yield service
    service.stop()


@pytest.fixture
def private_redis(private_redis_service: Service) -> Iterator[redis_lib.Redis]:
    """A client of `private_redis_service`."""
    client = redis_lib.Redis.from_url(private_redis_service.url)
    yield client
    client.close()


class Fleet:
    """Supervisors started on the test's own Redis (`client`), with `env`; stopped at the end."""

    def __init__(self, client: redis_lib.Redis, env: dict[str, str], log_dir: Path) -> None:
        self.client = client
        self.env = env
        self.log_dir = log_dir
        self.started: list[Service] = []
        #: `fanout conductor` on the same Redis: comparisons and sweeps move on.
        self.conductor: Service | None = None
        #: How long each one may take to stop warm at the end, before it is killed.
        self.stop_timeout_s = 30.0

    def start(
        self, name: str, *, host: str | None = None, pool: int = 1, extra_args: tuple[str, ...] = ()
    ) -> Service:
        """`fanout worker` named `name` (its log), as `--host host` when given; the fleet's
        conductor starts with the first."""
        if self.conductor is None:
            self.conductor = start_conductor(self.log_dir, self.env)
        args = (*extra_args, "--host", host) if host else extra_args
        service = start_worker(self.log_dir, self.env, name=name, extra_args=args, pool=pool)
        self.started.append(service)
        return service

    def stop(self) -> None:
        for service in self.started:
            service.stop(timeout_s=self.stop_timeout_s)
        if self.conductor is not None:
            self.conductor.stop()


@pytest.fixture
def fleet(
    stack_env: dict[str, str],
    private_redis_service: Service,
    private_redis: redis_lib.Redis,
    tmp_path: Path,
) -> Iterator[Fleet]:
    """A Redis of the test's own, and the supervisors a test starts on it: for tests that count
    workers or CPU, which the session's shared workers would disturb."""
    fleet = Fleet(private_redis, dict(stack_env, REDIS_URL=private_redis_service.url), tmp_path)
    try:
        yield fleet
    finally:
        fleet.stop()


@pytest.fixture
def private_fleet(fleet: Fleet) -> tuple[redis_lib.Redis, list[Service]]:
    """`fleet` with two supervised workers, live. Yields (client, workers)."""
    for n in (1, 2):
        fleet.start(f"private-{n}")
    wait_until(lambda: len(alive_workers(fleet.client)) == 2, 30, "2 live workers")
    return fleet.client, fleet.started
