"""`fanout up`: the Procfile's processes under honcho; one `fanout worker` runs WORKERS workers.

The local stack is one host: a single supervisor (`worker.supervisor`) runs WORKERS workers and
grows or shrinks them to the worker target. honcho stops everything when any process exits, so
the supervisor respawns a killed worker instead of taking the stack down.

Stopping is ordered, which honcho alone does not do (it signals every process at once, then
kills them all 5 s later): with Redis and the origin gone first, workers printed Redis
tracebacks, a task in flight was recorded as `error: Connection refused`, and killed workers
stayed registered. So the workers stop first (a warm shutdown: the job in hand ends), then the
web app and the origin, then Redis last. A second Ctrl-C kills what is left.

Every service dies with `fanout up`, even a SIGKILLed one: honcho runs each in a session of its
own, where no terminal or group signal reaches it, so each asks for a parent-death signal
(`contract.parent_death`), and so do the services' own children.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer
from honcho.process import Popen, Process

from contract import fleet
from contract.parent_death import die_with_parent, preexec_die_with_parent
from contract.settings import Settings

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"

#: Who stops first. Processes not named here stop with the last group but one.
STOP_ORDER: tuple[tuple[str, ...], ...] = (
    ("worker",),
    ("conductor", "web", "origin"),
    ("redis",),
)

#: How long each group may take to stop before it is killed. Workers finish the job in hand:
#: a hybrid chunk's worst case is 4 waves of the task deadline (20 s each).
GRACE_S = {"worker": 90.0, "conductor": 15.0, "web": 15.0, "origin": 15.0, "redis": 15.0}


class ServiceRunner(Process):
    """honcho's runner of one service: a fork of `fanout up` that starts the service in a session
    of its own and relays its output. It dies with `fanout up`, and the service dies with it
    (`contract.parent_death`), so a SIGKILLed `fanout up` leaves no service holding its port."""

    def run(self, events: Any = None, ignore_signals: bool = False) -> None:
        parent = multiprocessing.parent_process()
        if parent is not None and parent.pid is not None:
            die_with_parent(signal.SIGKILL, parent.pid)
        self._child_ctor = functools.partial(
            Popen, preexec_fn=preexec_die_with_parent(signal.SIGKILL)
        )
        super().run(events, ignore_signals)


class OrderedManager(Manager):
    """honcho's Manager, stopping its processes group by group (see the module docstring)."""

    def __init__(self, printer: Printer, jobs_in_hand: Callable[[], int | None]) -> None:
        super().__init__(printer)
        self._process_ctor = ServiceRunner
        self.jobs_in_hand = jobs_in_hand
        self._stopping: threading.Thread | None = None
        #: What started the stop, for its announcement: a signal, or a process that exited.
        self._why = ""
        #: Held while signalling a group, so a forced stop never interleaves with the ordered one.
        self._lock = threading.RLock()
        self._forced = threading.Event()

    def _start(self) -> None:
        """After honcho's loop has set its handlers: ours count the signals."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        super()._start()

    def _on_signal(self, signum: int, frame: object) -> None:
        """The first signal stops in order; any signal during a stop stops at once."""
        if self._stopping is not None:
            self._force()
            return
        self._why = f"{signal.Signals(signum).name} received"
        self.returncode = 128 + signum
        self.terminate()

    def terminate(self) -> None:
        """On the first signal, or when any process exits: stop in order, in a thread, so the
        loop keeps printing the processes' last lines."""
        if self._stopping is not None:
            return
        if not self._why:
            exited = [n for n, p in self._processes.items() if "returncode" in p]
            self._why = f"{', '.join(exited) or 'a process'} stopped"
        self._terminating = True
        self._stopping = threading.Thread(target=self._stop_in_order, name="stop", daemon=True)
        self._stopping.start()

    def kill(self) -> None:
        """honcho kills everything 5 s after the first exit; the ordered stop has its own
        deadlines per group instead."""

    def _force(self) -> None:
        with self._lock:
            if self._forced.is_set():
                return
            self._forced.set()
            self._system_print("stopping now: killing what is left\n")
            self._killall(force=True)

    def _groups(self) -> list[list[str]]:
        names = list(self._processes)
        groups = [[n for n in names if n.rsplit(".", 1)[0] in group] for group in STOP_ORDER]
        placed = {n for group in groups for n in group}
        groups.insert(len(groups) - 1, [n for n in names if n not in placed])
        return [group for group in groups if group]

    def _running(self, names: list[str]) -> list[str]:
        return [n for n in names if "returncode" not in self._processes[n]]

    def _grace(self, names: list[str]) -> float:
        return max(GRACE_S.get(name.rsplit(".", 1)[0], 15.0) for name in names)

    def _announce(self) -> None:
        """One line: what the stop waits for, how long at most, and how to cut it short."""
        workers = [n for n in self._processes if n.rsplit(".", 1)[0] == "worker"]
        running = self._running(workers)
        if running:
            jobs = self.jobs_in_hand()
            grace = f"up to {self._grace(running):.0f} s"
            if jobs is None:
                waits = f"the workers finish their jobs in hand ({grace})"
            elif jobs == 0:
                waits = "the workers stop (no job in hand)"
            else:
                waits = f"the workers finish {jobs} job{'s' * (jobs != 1)} in hand ({grace})"
        else:
            waits = "no worker to wait for"
        after = [" and ".join(group) for group in STOP_ORDER if group != ("worker",)]
        later = ", then ".join(after)
        again = " again" if self._why.endswith("received") else ""
        self._system_print(
            f"{self._why}: {waits}; then {later} stop. "
            f"Press Ctrl-C{again} to stop everything at once.\n"
        )

    def _signal(self, names: list[str], said: str, send: Callable[[int], None]) -> bool:
        """`send` each running process's pid, saying `said` (with its name and pid); False once
        a forced stop has begun (it signals alone)."""
        with self._lock:
            if self._forced.is_set():
                return False
            for name in self._running(names):
                pid = self._processes[name].get("pid")
                if pid:
                    self._system_print(said.format(name=name, pid=pid))
                    send(pid)
        return True

    def _stop_in_order(self) -> None:
        self._announce()
        for group in self._groups():
            running = self._running(group)
            if not running:
                continue
            said = "sending SIGTERM to {name} (pid {pid})\n"
            if not self._signal(running, said, self._procmgr.terminate):
                return
            grace = self._grace(running)
            deadline = time.monotonic() + grace
            while self._running(group) and time.monotonic() < deadline:
                if self._forced.wait(0.05):
                    return
            said = f"{{name}} did not stop in {grace:.0f} s: SIGKILL\n"
            if not self._signal(group, said, self._procmgr.kill):
                return


def jobs_in_hand(redis_url: str) -> Callable[[], int | None]:
    """How many jobs the live workers hold now; None if Redis cannot say within a second."""

    def count() -> int | None:
        from redis import Redis

        from producer.connection import fanout_queue
        from producer.workers import list_workers

        try:
            redis = Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
            rows = list_workers(redis, fanout_queue(redis))
        except Exception:
            return None
        return sum(1 for row in rows if row["state"] == "busy")

    return count


def run_stack(workers: int, procfile: Path = PROCFILE) -> int:
    """Start every process; Ctrl-C (or SIGTERM) stops them in order. Returns the exit code."""
    entries = parse_procfile(procfile.read_text()).processes
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PYTHONUNBUFFERED="1", WORKERS=str(workers))
    env[fleet.STACK_ENV] = str(os.getpid())  # the workers tell the stack's CPU from others'
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    manager = OrderedManager(
        Printer(sys.stdout, colour=sys.stdout.isatty()),
        jobs_in_hand=jobs_in_hand(Settings.from_env(env).redis_url),
    )
    for name, command in entries.items():
        process_env = dict(env, **{fleet.STACK_PART_ENV: name})
        if name == "worker":  # as compose's depends_on: the local origin answers first
            origin = env.get("ORIGIN_URL") or Settings.from_env(env).origin_url
            process_env["FANOUT_WAIT_FOR"] = f"{origin}/healthz"
        # exec: the service itself, not a shell around it, is the runner's child and dies with it
        manager.add_process(f"{name}.1", f"exec {command}", env=process_env, quiet=False)
    manager.loop()
    return manager.returncode or 0
