"""Real processes for tests: redis-server, the origin and workers, on loopback free ports."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis as redis_lib

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout_s: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Service:
    """A child process in its own process group (so a test can kill the whole group)."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    url: str = ""
    extra: dict = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout_s: float = 15) -> None:
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=5)
        else:
            self.signal_group(signal.SIGKILL)  # leftovers in the group


def start_service(name: str, args: list[str], log_dir: Path, env: dict[str, str]) -> Service:
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Service(name, proc, log_path)


def redis_server_binary() -> str:
    from fanout.redis_server import redis_server_binary as find

    return find()


def start_redis(
    log_dir: Path,
    *,
    port: int | None = None,
    password: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Service:
    """A private redis-server with AOF in its own directory (never the shared one on 6379).
    `extra_args` come last, so `("--appendonly", "no")` overrides the default."""
    port = port or free_port()
    data = log_dir / f"redis-{port}"
    data.mkdir(parents=True, exist_ok=True)
    args = [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--maxmemory-policy", "noeviction",
    ]  # fmt: skip
    if password:
        args += ["--requirepass", password]
    args += extra_args
    service = start_service(f"redis-{port}", args, log_dir, dict(os.environ))
    auth = f":{password}@" if password else ""
    service.url = f"redis://{auth}127.0.0.1:{port}/0"
    client = redis_lib.Redis.from_url(service.url)

    def ready() -> bool:
        try:
            return bool(client.ping())
        except redis_lib.RedisError:
            if not service.alive():
                raise RuntimeError(f"redis-server exited:\n{service.log()}") from None
            return False

    wait_until(ready, 20, "redis-server")
    return service


def wait_http_ready(service: Service, what: str, timeout_s: float = 30) -> None:
    """Wait until the service answers GET /healthz; fail at once if it exits."""
    import requests

    def ready() -> bool:
        if not service.alive():
            raise RuntimeError(f"{what} exited:\n{service.log()}")
        try:
            return requests.get(f"{service.url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_until(ready, timeout_s, what)


def start_origin(log_dir: Path, env: dict[str, str]) -> Service:
    port = free_port()
    service = start_service(
        f"origin-{port}",
        [sys.executable, "-m", "fanout", "origin", "--port", str(port)],
        log_dir,
        env,
    )
    service.url = f"http://127.0.0.1:{port}"
    wait_http_ready(service, "origin", 20)
    return service


def start_web(
    log_dir: Path, env: dict[str, str], *, processes: int = 2, name: str = "web"
) -> Service:
    """`fanout web`: gunicorn, `processes` gevent processes, on a free loopback port, with
    its own FANOUT_DATA_DIR (secret key, metrics directory)."""
    port = free_port()
    data_dir = log_dir / f"{name}-{port}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(env, WEB_PORT=str(port), WEB_PROCESSES=str(processes), FANOUT_DATA_DIR=str(data_dir))
    service = start_service(
        f"{name}-{port}",
        [sys.executable, "-m", "fanout", "web", "--port", str(port)],
        log_dir,
        env,
    )
    service.url = f"http://127.0.0.1:{port}"
    service.extra["data_dir"] = data_dir
    wait_http_ready(service, "fanout web")
    return service


def alive_workers(client: redis_lib.Redis) -> set[str]:
    """Names of the workers alive now, by fanout's one predicate (`contract.fleet.is_fresh`)."""
    from contract import fleet

    return {life.span.name for life in fleet.read_lives(client, now=time.time()) if not life.gone}


def start_worker(
    log_dir: Path,
    env: dict[str, str],
    *,
    name: str,
    extra_args: tuple[str, ...] = (),
    pool: int = 1,
) -> Service:
    """`fanout worker`: a supervisor of `pool` workers (one by default, as the suite's fixtures
    count them), or one bare worker with `--no-supervise` / `--burst` in `extra_args`."""
    args = [*extra_args]
    if not {"--no-supervise", "--burst"} & set(args):
        args += ["--pool", str(pool)]
    return start_service(name, [sys.executable, "-m", "fanout", "worker", *args], log_dir, env)
