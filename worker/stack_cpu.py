"""The CPU of this worker's own stack on its machine, per part, for its CPU samples.

`fanout up` marks every process it starts with the same `contract.fleet.STACK_ENV` value (its
own pid) and names each one's part (`STACK_PART_ENV`: redis, origin, web, worker); children
inherit both. A process is the stack's when its environment bears the worker's own mark, when
it is `fanout up` itself (the pid the mark names), or when it bears no mark at all and its
parent is the stack's (the forks honcho runs each process from; redis-server, whose process
title overwrites its environment). The environment is fixed at exec, so the mark cannot drift;
a second stack on the machine bears another mark, and other programs none.
Processes of another user cannot be read, and are not ours either.

The count is a counter per part, from the first scan on: the CPU seconds of the part's live
processes (with the children they reaped), plus those of the processes gone from the stack
without a parent of the stack to reap them. A child reaped by a parent of the stack moves into
the parent's children's times, so it is counted once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

from contract import fleet

#: Sightings of a process not ours before it is no longer read: a child seen between its fork
#: and its exec still has its parent's environment.
SIGHTINGS = 2


def _part(raw: str) -> str:
    """A part's name as a sample can carry it (no spaces, no "=")."""
    return "".join("-" if ch.isspace() or ch == "=" else ch for ch in raw)


@dataclass
class _Process:
    process: psutil.Process
    part: str
    cpu_s: float = 0.0
    parent: int = 0


class StackCpu:
    """Counts the CPU of the processes bearing `token` on this machine (see the module)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._root = int(token) if token.isdigit() else None
        self._started = time.time()
        self._ours: dict[int, _Process] = {}
        self._not_ours: dict[int, int] = {}
        self._gone: dict[str, float] = {}
        self._base: dict[str, float] | None = None
        self._counted: dict[str, float] = {}

    def _mark(self, process: psutil.Process) -> str | None:
        """The process's part if it is of this stack, else None."""
        try:
            if process.pid == self._root and self._root_is_ours():
                return fleet.ROOT_PART
            env = process.environ()
            parent = self._ours.get(process.ppid())
        except psutil.Error:
            return None
        if fleet.STACK_ENV not in env:  # unmarked, or its title overwrote it (redis-server)
            return parent.part if parent is not None else None
        if env[fleet.STACK_ENV] != self.token:
            return None
        return _part(env.get(fleet.STACK_PART_ENV, ""))

    def _root_is_ours(self) -> bool:
        """The mark's pid is `fanout up` while it started before this worker (not a reuse)."""
        try:  # asked only of the root's pid
            return psutil.Process(self._root).create_time() <= self._started
        except psutil.Error:
            return False

    def _leave(self, pid: int) -> None:
        gone = self._ours.pop(pid)
        if gone.parent not in self._ours:  # nobody of the stack reaps it: keep what it used
            self._gone[gone.part] = self._gone.get(gone.part, 0.0) + gone.cpu_s

    def _discover(self, pids: set[int]) -> None:
        for pid in [pid for pid in self._ours if pid not in pids]:
            self._leave(pid)
        self._not_ours = {pid: n for pid, n in self._not_ours.items() if pid in pids}
        for pid in pids:
            if pid in self._ours or self._not_ours.get(pid, 0) >= SIGHTINGS:
                continue
            try:
                process = psutil.Process(pid)
            except psutil.Error:
                continue
            part = self._mark(process)
            if part is None:
                self._not_ours[pid] = self._not_ours.get(pid, 0) + 1
            else:
                self._not_ours.pop(pid, None)
                self._ours[pid] = _Process(process, part)

    def sample(self) -> dict[str, float]:
        """CPU seconds per part since the first call; never decreasing."""
        self._discover(set(psutil.pids()))
        totals = dict(self._gone)
        for pid, seen in list(self._ours.items()):
            try:
                with seen.process.oneshot():
                    if not seen.process.is_running():  # the pid was reused
                        raise psutil.NoSuchProcess(pid)
                    times = seen.process.cpu_times()
                    seen.parent = seen.process.ppid()
            except psutil.Error:
                self._leave(pid)
                continue
            seen.cpu_s = times.user + times.system + times.children_user + times.children_system
            totals[seen.part] = totals.get(seen.part, 0.0) + seen.cpu_s
        if self._base is None:
            self._base = totals
        for part, cpu_s in totals.items():
            counted = cpu_s - self._base.get(part, 0.0)
            self._counted[part] = max(self._counted.get(part, 0.0), counted)
        return dict(self._counted)
