"""The bench's private stack: redis-server, the origin and worker processes, on loopback free ports.

Nothing here touches a Redis the user runs: redis-server gets its own port and directory, with
persistence off (`--save "" --appendonly no`) so disk writes never show in the numbers. Workers
are restarted between scenarios, so each scenario gets exactly the workers it names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis as redis_lib
import requests
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from contract import connection, fleet, keys
from contract.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

#: The queue bare-RQ baseline workers listen on; fanout's workers listen on `keys.QUEUE_NAME`.
BARE_QUEUE = "bench-bare"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout_s: float = 30, what: str = "it") -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Proc:
    """A child in its own process group, so stopping it takes its forks along."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def rss_bytes(self) -> int:
        return psutil.Process(self.popen.pid).memory_info().rss

    def stop(self, timeout_s: float = 10) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # leftovers in the group
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


@dataclass
class WorkerSet:
    """What a scenario asks for: `count` workers of one kind ("fanout" or "bare") and class."""

    kind: str = "fanout"
    cls: str = "simple"
    count: int = 0


class Stack:
    """Redis, the origin and a set of workers, all children of the bench process."""

    def __init__(self, work_dir: Path, *, cpu_rounds: int | None = None) -> None:
        self.work_dir = work_dir
        self.cpu_rounds = cpu_rounds
        self.procs: list[Proc] = []
        self.workers: list[Proc] = []
        self.worker_set = WorkerSet()
        self.env: dict[str, str] = {}
        self.redis: redis_lib.Redis | None = None
        self.web_error = ""
        #: The origin's CPU seconds during the last direct or bare-RQ baseline.
        self.last_origin_s = 0.0
        self._web: Proc | None = None
        self._web_url = ""
        self._spawned = 0

    # --- processes --------------------------------------------------------------------------

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        self._spawned += 1
        log_path = self.work_dir / f"{self._spawned:03d}-{name}.log"
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env or self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Proc(name, popen, log_path)

    def python(self, name: str, *args: str) -> Proc:
        return self.spawn(name, [sys.executable, *args])

    # --- the stack --------------------------------------------------------------------------

    def start(self) -> None:
        from fanout.redis_server import redis_server_binary

        self.work_dir.mkdir(parents=True, exist_ok=True)
        redis_port, origin_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
            ORIGIN_URL=f"http://127.0.0.1:{origin_port}",
            ORIGIN_PORT=str(origin_port),
            FANOUT_ALLOW_HOSTS=f"127.0.0.1:{origin_port}",
            FANOUT_DATA_DIR=str(self.work_dir / "data"),
            FANOUT_RATE_LIMIT_SUBMIT="off",  # the bench submits in bursts from one address
            PYTHONUNBUFFERED="1",
        )
        if self.cpu_rounds:
            env["FANOUT_CPU_ROUNDS"] = str(self.cpu_rounds)
        self.env = env
        data = self.work_dir / "redis"
        data.mkdir(exist_ok=True)
        redis_args = [
            redis_server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--dir",
            str(data),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.procs.append(self.spawn("redis", redis_args))
        self.redis = connection.connect(env["REDIS_URL"])
        wait_until(self._redis_ready, 20, "redis-server")
        self.procs.append(self.python("origin", "-m", "bench.procs", "origin"))
        wait_until(self._origin_ready, 30, "the origin")

    def _redis_ready(self) -> bool:
        try:
            return bool(self.redis and self.redis.ping())
        except redis_lib.RedisError:
            if not self.procs[0].alive():
                raise RuntimeError(f"redis-server exited:\n{self.procs[0].log()}") from None
            return False

    def _origin_ready(self) -> bool:
        if not self.procs[-1].alive():
            raise RuntimeError(f"origin exited:\n{self.procs[-1].log()}")
        try:
            return requests.get(f"{self.origin_url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    def origin_cpu_s(self) -> float:
        """CPU seconds the origin has used: is the origin, not the client, the limit?"""
        times = psutil.Process(self.procs[1].popen.pid).cpu_times()
        return times.user + times.system

    @property
    def origin_url(self) -> str:
        return self.env["ORIGIN_URL"]

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    @property
    def client(self) -> redis_lib.Redis:
        assert self.redis is not None, "stack not started"
        return self.redis

    def start_web(self) -> str | None:
        """The web app under gunicorn with one worker process, started once. None (and
        `web_error` says why) when it cannot start: the web app is another team's."""
        if self._web is not None:
            return self._web_url
        if self.web_error:
            return None
        port = free_port()
        args = [
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "web.app:create_app()",
        ]
        proc = self.python("web", *args)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not proc.alive():
                return True
            try:
                return requests.get(f"{url}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        with contextlib.suppress(TimeoutError):
            wait_until(ready, 30, "the web app")
        if not proc.alive() or not ready():
            proc.stop()
            self.web_error = "it did not start: " + proc.log()[-600:].replace("\n", " ")
            return None
        self.procs.append(proc)
        self._web, self._web_url = proc, url
        return url

    def web_proc(self) -> Proc | None:
        return self._web

    def stop(self) -> None:
        self.set_workers(WorkerSet())
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    # --- workers ----------------------------------------------------------------------------

    def set_workers(self, wanted: WorkerSet) -> list[Proc]:
        """Exactly `wanted` long-lived workers, idle and listening; others are stopped first."""
        if wanted == self.worker_set and all(w.alive() for w in self.workers):
            return self.workers
        for proc in self.workers:
            proc.stop()
        self.workers = []
        self._forget_dead_workers()
        self.worker_set = wanted
        for n in range(wanted.count):
            args = ["-m", "bench.procs", "worker", wanted.kind, wanted.cls]
            self.workers.append(self.python(f"{wanted.kind}-{wanted.cls}-w{n + 1}", *args))
        if wanted.count:
            wait_until(lambda: self._idle_workers() >= wanted.count, 60, f"{wanted} to be idle")
            time.sleep(0.2)
        return self.workers

    def _queue(self, kind: str) -> Queue:
        name = BARE_QUEUE if kind == "bare" else keys.QUEUE_NAME
        return Queue(name, connection=self.client, serializer=JSONSerializer)

    def _idle_workers(self) -> int:
        for proc in self.workers:
            if not proc.alive():
                raise RuntimeError(f"worker {proc.name} exited:\n{proc.log()}")
        queue = self._queue(self.worker_set.kind)
        workers = Worker.all(queue=queue, serializer=JSONSerializer)
        idle = sum(1 for w in workers if w.get_state() == "idle")
        if self.worker_set.kind == "fanout":
            return min(idle, fleet.count_alive(self.client))
        return idle

    def _forget_dead_workers(self) -> None:
        """A worker that had to be killed leaves its registrations behind: a stale alive score
        would count as a slot of the next queued run, and its span as capacity."""
        self.client.delete(keys.alive_workers_key(), keys.worker_spans_key())
        for kind in ("fanout", "bare"):
            for worker in Worker.all(queue=self._queue(kind), serializer=JSONSerializer):
                with contextlib.suppress(redis_lib.RedisError):
                    worker.register_death()

    def worker_pids(self) -> list[int]:
        return [proc.popen.pid for proc in self.workers]
