"""`fanout up`: the Procfile's processes under honcho; one `fanout worker` runs WORKERS workers.

The local stack is one host: a single supervisor (`worker.supervisor`) runs WORKERS workers and
grows or shrinks them to the worker target. honcho stops everything when any process exits, so
the supervisor respawns a killed worker instead of taking the stack down.

Stopping is ordered, which honcho alone does not do (it signals every process at once, then
kills them all 5 s later): with Redis and the origin gone first, workers printed Redis
tracebacks, a task in flight was recorded as `error: Connection refused`, and killed workers
stayed registered. So the workers stop first (a warm shutdown: the job in hand ends), then the
web app and the origin, then Redis last. A second Ctrl-C kills what is left.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

from honcho.environ import parse_procfile
from honcho.manager import Manager
from honcho.printer import Printer

from contract import fleet
from contract.settings import Settings

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"

#: Who stops first. Processes not named here stop with the last group but one.
STOP_ORDER: tuple[tuple[str, ...], ...] = (("worker",), ("web", "origin"), ("redis",))

#: How long each group may take to stop before it is killed. Workers finish the job in hand:
#: a hybrid chunk's worst case is 4 waves of the task deadline (20 s each).
GRACE_S = {"worker": 90.0, "web": 15.0, "origin": 15.0, "redis": 15.0}


class OrderedManager(Manager):
    """honcho's Manager, stopping its processes group by group (see the module docstring)."""

    def __init__(self, printer: Printer, stop_order=STOP_ORDER, grace_s=None) -> None:
        super().__init__(printer)
        self.stop_order = stop_order
        self.grace_s = dict(GRACE_S, **(grace_s or {}))
        self._stopping: threading.Thread | None = None
        self._signals = 0
        self._forced = False

    def _start(self) -> None:
        """After honcho's loop has set its handlers: ours count the signals."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        super()._start()

    def _on_signal(self, signum: int, frame: object) -> None:
        self._signals += 1
        if self._signals > 1:
            self._force()
            return
        name = signal.Signals(signum).name
        self._system_print(f"{name} received: stopping workers, then web and origin, then redis\n")
        self.returncode = 128 + signum
        self.terminate()

    def terminate(self) -> None:
        """On the first signal, or when any process exits: stop in order, in a thread, so the
        loop keeps printing the processes' last lines."""
        if self._stopping is not None:
            return
        self._terminating = True
        self._stopping = threading.Thread(target=self._stop_in_order, name="stop", daemon=True)
        self._stopping.start()

    def kill(self) -> None:
        """honcho kills everything 5 s after the first exit; the ordered stop has its own
        deadlines per group instead."""

    def _force(self) -> None:
        if not self._forced:
            self._forced = True
            self._system_print("stopping now: killing what is left\n")
            self._killall(force=True)

    def _groups(self) -> list[list[str]]:
        names = list(self._processes)
        kind = {name: name.rsplit(".", 1)[0] for name in names}
        groups = [[n for n in names if kind[n] in group] for group in self.stop_order]
        placed = {n for group in groups for n in group}
        rest = [n for n in names if n not in placed]
        if rest:
            groups.insert(max(0, len(groups) - 1), rest)
        return [group for group in groups if group]

    def _running(self, names: list[str]) -> list[str]:
        return [n for n in names if "returncode" not in self._processes[n]]

    def _stop_in_order(self) -> None:
        for group in self._groups():
            running = self._running(group)
            if not running:
                continue
            for name in running:
                pid = self._processes[name].get("pid")
                if pid:
                    self._system_print(f"sending SIGTERM to {name} (pid {pid})\n")
                    self._procmgr.terminate(pid)
            grace = max(self.grace_s.get(name.rsplit(".", 1)[0], 15.0) for name in running)
            deadline = time.monotonic() + grace
            while self._running(group) and time.monotonic() < deadline and not self._forced:
                time.sleep(0.05)
            for name in self._running(group):
                pid = self._processes[name].get("pid")
                if pid:
                    self._system_print(f"{name} did not stop in {grace:.0f} s: SIGKILL\n")
                    self._procmgr.kill(pid)


def run_stack(workers: int, procfile: Path = PROCFILE) -> int:
    """Start every process; Ctrl-C (or SIGTERM) stops them in order. Returns the exit code."""
    entries = parse_procfile(procfile.read_text()).processes
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PYTHONUNBUFFERED="1", WORKERS=str(workers))
    env[fleet.STACK_ENV] = str(os.getpid())  # the workers tell the stack's CPU from others'
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    manager = OrderedManager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    for name, command in entries.items():
        process_env = env
        if name == "worker":  # as compose's depends_on: the local origin answers first
            origin = env.get("ORIGIN_URL") or Settings.from_env(env).origin_url
            process_env = dict(env, FANOUT_WAIT_FOR=f"{origin}/healthz")
        process_env = dict(process_env, **{fleet.STACK_PART_ENV: name})
        manager.add_process(f"{name}.1", command, env=process_env, quiet=False)
    manager.loop()
    return manager.returncode or 0
