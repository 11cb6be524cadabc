"""Child processes for the tests, the bench and `fanout redis`: started with their output in a
log file, waited for until they answer, and stopped without leaving anything behind.

It lives in `fanout` because the tests, the bench and the CLI may all import it (worker may not,
so `worker.process` keeps its own waits for Redis and the origin).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis as redis_lib
import requests

from contract.parent_death import preexec_die_with_parent

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick; a race only with other pickers)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    predicate: Callable[[], T], timeout_s: float = 30, what: str = "condition", poll_s: float = 0.05
) -> T:
    """Poll until `predicate` returns something truthy, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def http_ok(url: str) -> Callable[[], bool]:
    """A readiness probe: GET `url` answers 2xx."""

    def probe() -> bool:
        try:
            return requests.get(url, timeout=1).ok
        except requests.RequestException:
            return False

    return probe


def redis_pings(url: str) -> Callable[[], bool]:
    """A readiness probe: the Redis at `url` answers PING (with the password the URL carries)."""
    client = redis_lib.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    def probe() -> bool:
        try:
            return bool(client.ping())
        except redis_lib.RedisError:
            return False

    return probe


@dataclass
class Child:
    """A child process, by default leading a process group of its own, so that stopping it
    takes its forks along (gunicorn's workers, a supervisor's workers, RQ's work-horses)."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path | None
    own_group: bool = True
    url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self, tail_chars: int | None = None) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text[-tail_chars:] if tail_chars else text

    def signal_group(self, sig: int) -> None:
        """Signal the child's group; a child in our own group is signalled alone."""
        if not self.own_group:
            self.proc.send_signal(sig)  # a no-op once reaped, so never a recycled pid
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def wait_ready(self, probe: Callable[[], object], timeout_s: float, what: str) -> None:
        """Wait until `probe` passes. If the child exits or the time runs out, stop it and raise
        with the end of its log, so a caller never holds a half-started child."""

        def ready() -> bool:
            if not self.alive():
                raise RuntimeError(f"{what} exited ({self.proc.returncode}):\n{self.tail()}")
            return bool(probe())

        try:
            wait_until(ready, timeout_s, what)
        except TimeoutError as exc:
            self.stop()
            raise TimeoutError(f"{exc}; its log ends:\n{self.tail()}") from None
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout_s: float = 15) -> int:
        """SIGTERM, up to `timeout_s` for a clean exit, then SIGKILL; whatever is left in the
        group is killed either way, and the child is reaped. Returns its exit code."""
        if self.alive():
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout_s)
        self.signal_group(signal.SIGKILL)  # the child if it did not stop, else its leftovers
        return self.proc.wait(timeout=10)

    def tail(self) -> str:
        """The end of the log, where a crash is, for an error message."""
        return self.log(4000) or "(no log)"


def start(
    name: str,
    args: list[str],
    log_path: Path | None,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = ROOT,
    own_group: bool = True,
    parent_death_signal: int | None = None,
) -> Child:
    """Start `args` (in the repository root unless `cwd` says otherwise) with stdout and stderr
    appended to `log_path`, or to ours when it is None. With `parent_death_signal`, the child
    gets that signal when the calling thread ends (`contract.parent_death`)."""
    preexec = preexec_die_with_parent(parent_death_signal) if parent_death_signal else None
    log = log_path.open("ab") if log_path else None
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=own_group,
            preexec_fn=preexec,
        )
    finally:
        if log:
            log.close()  # the child holds its own descriptor
    return Child(name, proc, log_path, own_group)


def start_origin(port: int, log_path: Path, env: dict[str, str], timeout_s: float = 30) -> Child:
    """`fanout origin` on a loopback port, answering /healthz."""
    args = [sys.executable, "-m", "fanout", "origin", "--port", str(port)]
    child = start(f"origin-{port}", args, log_path, env=env)
    child.url = f"http://127.0.0.1:{port}"
    child.wait_ready(http_ok(f"{child.url}/healthz"), timeout_s, "the origin")
    return child
