"""Real processes for tests: redis-server, the origin, the web app and workers, on loopback free
ports. Starting, waiting and stopping are `fanout.children`'s, shared with the bench."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis as redis_lib

from fanout import children, redis_server
from fanout.children import free_port, wait_until

#: The suite's name for a started child (`service.proc`, `.url`, `.stop()`, `.signal_group()`).
Service = children.Child

__all__ = [
    "Service",
    "alive_workers",
    "free_port",
    "read_to_end",
    "start_origin",
    "start_redis",
    "start_service",
    "start_web",
    "start_worker",
    "wait_until",
]


def start_service(name: str, args: list[str], log_dir: Path, env: dict[str, str]) -> Service:
    """`args` in a process group of their own, logging to `log_dir/<name>.log`."""
    return children.start(name, args, log_dir / f"{name}.log", env=env)


def start_redis(
    log_dir: Path,
    *,
    port: int | None = None,
    password: str | None = None,
    extra_args: tuple[str, ...] = (),
) -> Service:
    """A private redis-server with AOF in `log_dir/redis-PORT` (never the shared one on 6379),
    so starting it again on its port replays what it had. `extra_args` override the defaults."""
    port = port or free_port()
    auth = f":{password}@" if password else ""
    url = f"redis://{auth}127.0.0.1:{port}/0"
    log_path = log_dir / f"redis-{port}.log"
    return redis_server.start_redis(url, log_dir / f"redis-{port}", log_path, *extra_args)


def start_origin(log_dir: Path, env: dict[str, str]) -> Service:
    port = free_port()
    return children.start_origin(port, log_dir / f"origin-{port}.log", env)


def start_web(
    log_dir: Path, env: dict[str, str], *, processes: int = 2, name: str = "web"
) -> Service:
    """`fanout web`: gunicorn, `processes` gevent processes, on a free loopback port, with
    its own FANOUT_DATA_DIR (secret key, metrics directory)."""
    port = free_port()
    data_dir = log_dir / f"{name}-{port}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(env, WEB_PORT=str(port), WEB_PROCESSES=str(processes), FANOUT_DATA_DIR=str(data_dir))
    args = [sys.executable, "-m", "fanout", "web", "--port", str(port)]
    service = start_service(f"{name}-{port}", args, log_dir, env)
    service.url = f"http://127.0.0.1:{port}"
    service.extra["data_dir"] = data_dir
    service.wait_ready(children.http_ok(f"{service.url}/healthz"), 30, "fanout web")
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


def start_conductor(log_dir: Path, env: dict[str, str], *, name: str = "conductor") -> Service:
    """`fanout conductor`: releases comparisons' runs in turn and drives sweeps."""
    return start_service(name, [sys.executable, "-m", "fanout", "conductor"], log_dir, env)


def start_up(env: dict[str, str], log_path: Path, workers: int = 2) -> subprocess.Popen[bytes]:
    """`fanout up` as a user starts it, in its own session (so a test can signal its whole
    process group, as a terminal's Ctrl-C does), its output in `log_path`."""
    return subprocess.Popen(
        [sys.executable, "-m", "fanout", "up", "--workers", str(workers)],
        env=env,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def read_to_end(proc: subprocess.Popen[str], timeout_s: float) -> tuple[str, str]:
    """The rest of a child's stdout and stderr once it exits, read through its file objects.
    `communicate()` reads the pipes' descriptors, so it drops what an earlier `readline()` left
    in the file object's buffer: two lines written together, the second lost."""
    assert proc.stdout is not None and proc.stderr is not None
    with ThreadPoolExecutor(2) as pool:
        out, err = pool.submit(proc.stdout.read), pool.submit(proc.stderr.read)
        try:
            proc.wait(timeout_s)
        finally:
            if proc.poll() is None:  # the reads end at the pipes' EOF
                proc.kill()
        return out.result(), err.result()
