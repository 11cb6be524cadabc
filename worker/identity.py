"""Who is running this code: the lane a task is drawn in on the timeline."""

from __future__ import annotations

import os
import socket
import threading
from functools import cache

_worker_name = "standalone"
_supervisor_name: str | None = None


def set_worker_name(name: str) -> None:
    """Called once by the worker process; forked pool children inherit it."""
    global _worker_name
    _worker_name = name


def worker_name() -> str:
    return _worker_name


def set_supervisor(name: str) -> None:
    """Called by a host's supervisor before it starts workers: the host name it holds in the
    worker target (the hostname, or `name/2` when two supervisors share a machine), which its
    workers inherit. Task records keep the real hostname: cores are counted per machine."""
    global _supervisor_name
    _supervisor_name = name


def supervisor() -> str:
    """The target's name for the host this worker belongs to."""
    return _supervisor_name or host()


@cache
def host() -> str:
    return socket.gethostname()


@cache
def cores() -> int:
    """Cores this process may run on (its affinity), which is what bounds CPU-bound work."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_pid = os.getpid()


def _note_pid_after_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_note_pid_after_fork)


def executor(thread: str | None = None) -> tuple[str, str, int, str]:
    """(worker, host, pid, thread): the fields of a task record that say where it ran. Kept
    values in a tuple, not a dict to unpack, and the pid noted at start and fork: every task
    asks, and `os.getpid()` is a system call (glibc no longer caches it)."""
    return _worker_name, host(), _pid, thread or threading.current_thread().name
