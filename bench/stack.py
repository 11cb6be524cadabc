"""The bench's private stack: redis-server, the origin and worker processes, on loopback free ports.

Nothing here touches a Redis the user runs: redis-server gets its own port and directory, with
persistence off (`--save "" --appendonly no`) so disk writes never show in the numbers. Workers
are restarted between scenarios, so each scenario gets exactly the workers it names.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import redis as redis_lib
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from contract import connection, fleet, keys
from contract.settings import Settings
from fanout.children import Child, free_port, http_ok, start, start_origin, wait_until
from fanout.redis_server import start_redis

#: The queue bare-RQ baseline workers listen on; fanout's workers listen on `keys.QUEUE_NAME`.
BARE_QUEUE = "bench-bare"


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
        self.procs: list[Child] = []
        self.workers: list[Child] = []
        self.worker_set = WorkerSet()
        self.env: dict[str, str] = {}
        self.redis: redis_lib.Redis | None = None
        self.web_error = ""
        #: The origin's CPU seconds during the last direct or bare-RQ baseline.
        self.last_origin_s = 0.0
        #: The web app's gunicorn master, once `start_web` has started it.
        self.web: Child | None = None
        self._web_url = ""
        self._spawned = 0

    @classmethod
    @contextlib.contextmanager
    def private(cls, prefix: str) -> Iterator[Stack]:
        """A stack started in a fresh temporary directory, stopped when the block ends."""
        stack = cls(Path(tempfile.mkdtemp(prefix=prefix)))
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()

    # --- processes --------------------------------------------------------------------------

    def _log_path(self, name: str) -> Path:
        self._spawned += 1
        return self.work_dir / f"{self._spawned:03d}-{name}.log"

    def python(self, name: str, *args: str, env: dict[str, str] | None = None) -> Child:
        return start(name, [sys.executable, *args], self._log_path(name), env=env or self.env)

    def timed_child(self, name: str, result: Path, *args: str) -> float:
        """Run `python ARGS... RESULT` to its end; the `wall_s` it wrote to RESULT (JSON)."""
        result.unlink(missing_ok=True)
        child = self.python(name, *args, str(result))
        code = child.proc.wait(timeout=600)
        if code != 0 or not result.exists():
            raise RuntimeError(f"{name} failed ({code}):\n{child.tail()}")
        return float(json.loads(result.read_text())["wall_s"])

    def private_redis(self, name: str) -> Child:
        """A redis-server of its own on a free port, without persistence (disk writes would
        show in the numbers)."""
        url = f"redis://127.0.0.1:{free_port()}/0"
        return start_redis(url, self.work_dir / name, self._log_path(name), "--appendonly", "no")

    # --- the stack --------------------------------------------------------------------------

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        redis = self.private_redis("redis")
        self.procs.append(redis)
        origin_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(
            REDIS_URL=redis.url,
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
        self.redis = connection.connect(env["REDIS_URL"])
        self.procs.append(start_origin(origin_port, self._log_path("origin"), env))

    def origin_cpu_s(self) -> float:
        """CPU seconds the origin has used: is the origin, not the client, the limit?"""
        times = psutil.Process(self.procs[1].pid).cpu_times()
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
        if self.web is not None:
            return self._web_url
        if self.web_error:
            return None
        port = free_port()
        args = ["-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
        args.append("--no-control-socket")  # its default, ~/.gunicorn/gunicorn.ctl, is per host
        proc = self.python("web", *args, "web.app:create_app()")
        url = f"http://127.0.0.1:{port}"
        try:
            proc.wait_ready(http_ok(f"{url}/healthz"), 30, "the web app")
        except (RuntimeError, TimeoutError):
            self.web_error = "it did not start: " + proc.log(600).replace("\n", " ")
            return None
        self.procs.append(proc)
        self.web, self._web_url = proc, url
        return url

    def stop(self) -> None:
        self.set_workers(WorkerSet())
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    # --- workers ----------------------------------------------------------------------------

    def set_workers(self, wanted: WorkerSet) -> None:
        """Exactly `wanted` long-lived workers, idle and listening; others are stopped first."""
        if wanted == self.worker_set and all(w.alive() for w in self.workers):
            return
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

    def queue(self, kind: str) -> Queue:
        """The queue of `kind`'s workers: fanout's, or the bare-RQ baseline's."""
        name = BARE_QUEUE if kind == "bare" else keys.QUEUE_NAME
        return Queue(name, connection=self.client, serializer=JSONSerializer)

    def _idle_workers(self) -> int:
        for proc in self.workers:
            if not proc.alive():
                raise RuntimeError(f"worker {proc.name} exited:\n{proc.tail()}")
        queue = self.queue(self.worker_set.kind)
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
            for worker in Worker.all(queue=self.queue(kind), serializer=JSONSerializer):
                with contextlib.suppress(redis_lib.RedisError):
                    worker.register_death()

    def worker_pids(self) -> list[int]:
        return [proc.pid for proc in self.workers]
