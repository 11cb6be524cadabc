"""What one job costs the operating system, read from /proc while it runs (`contract.cost`).

A `JobMeter` reads the job's process at the job's start and end, and a sampler thread, one per
process, reads every open meter each `SAMPLE_EVERY_S` in between, so a job's peak memory is seen
whatever its length and a job shorter than the interval costs two readings (/proc/self/statm,
getrusage, the /proc/self/task listing).

The job's process is the worker (a fork worker's work-horse). Its own CPU time and context
switches come from getrusage, which counts every thread of it, the worker's background threads
(heartbeat, recorder) included. Children are counted for the processes strategy only, and only
its pool's, which run the tasks (an idle pool kept from an earlier job runs nothing of another
strategy's job, the worker's other children, RQ's scheduler, none at all): their unique memory
(USS, from /proc/<pid>/smaps_rollup through psutil), their CPU time and their threads' context
switches.
"""

from __future__ import annotations

import contextlib
import os
import resource
import threading
import time
from dataclasses import dataclass, field

import psutil

from contract.cost import WorkerCost
from worker import pools
from worker.ticker import Ticker

#: Seconds between two readings of a running job.
SAMPLE_EVERY_S = 0.15

_PAGE = os.sysconf("SC_PAGE_SIZE")


_statm: int | None = None  # /proc/self/statm, kept open: a pread is cheaper than an open


def _rss_bytes() -> int:
    global _statm
    if _statm is None:
        _statm = os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC)
    return int(os.pread(_statm, 128, 0).split()[1]) * _PAGE


def _reopen_statm_after_fork() -> None:
    """The descriptor names the process that opened it, not "self": a child opens its own."""
    global _statm
    if _statm is not None:
        os.close(_statm)
    _statm = None


def _tids(pid: str = "self") -> set[str]:
    try:
        return set(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return set()


def _ctx_switches(pid: int) -> tuple[int, int]:
    """(voluntary, involuntary) over every live thread of `pid`: its /proc/<pid>/status counts
    its main thread's alone."""
    voluntary = involuntary = 0
    for tid in _tids(str(pid)):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith(b"nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


@dataclass
class _Child:
    """A child of the job's process: its figures at first sight and at its last reading."""

    process: psutil.Process
    started: bool  # forked while the job ran
    cpu_first: tuple[float, float] = (0.0, 0.0)
    ctx_first: tuple[int, int] = (0, 0)
    tids_first: set[str] = field(default_factory=set)
    cpu: tuple[float, float] = (0.0, 0.0)
    ctx: tuple[int, int] = (0, 0)
    uss: int = 0
    tids: set[str] = field(default_factory=set)

    def read(self, *, memory: bool) -> bool:
        """False once the child is gone (its last figures stay)."""
        try:
            with self.process.oneshot():
                times = self.process.cpu_times()
                if memory:
                    self.uss = self.process.memory_full_info().uss
        except psutil.Error:
            return False
        self.cpu = (times.user, times.system)
        self.ctx = _ctx_switches(self.process.pid)
        self.tids |= _tids(str(self.process.pid))
        return True


class JobMeter:
    """The cost of one job in this process; `finish` returns it as a `WorkerCost`."""

    def __init__(self, host: str, *, count_children: bool) -> None:
        self.host = host
        self.count_children = count_children
        self._lock = threading.Lock()
        self.opened = time.monotonic()
        self._usage = resource.getrusage(resource.RUSAGE_SELF)
        self._rss_first = _rss_bytes()
        self._tids_first = _tids()
        self._tids_seen: set[str] = set(self._tids_first)
        self._peak = self._rss_first
        self._threads = len(self._tids_first)
        self._samples = 1
        self._children: dict[int, _Child] = {}
        self._live: set[int] = set()
        if count_children:
            for pid in pools.process_pool_pids():
                self._meet(pid, started=False)
            self._peak += sum(self._children[pid].uss for pid in self._live)

    def _meet(self, pid: int, *, started: bool) -> None:
        try:
            child = _Child(psutil.Process(pid), started)
        except psutil.Error:
            return
        if child.read(memory=True):
            if not started:
                child.cpu_first, child.ctx_first = child.cpu, child.ctx
                child.tids_first = set(child.tids)
            self._children[pid] = child
            self._live.add(pid)

    def sample(self) -> None:
        """One reading: memory, threads, children. Called by the sampler and at the end."""
        with self._lock:
            rss = _rss_bytes()
            tids = _tids()
            self._tids_seen |= tids
            threads = len(tids)
            if self.count_children:
                pids = pools.process_pool_pids()
                known = set(self._children)
                for pid in pids & known:
                    if not self._children[pid].read(memory=True):
                        pids.discard(pid)
                for pid in pids - known:
                    self._meet(pid, started=True)
                self._live = pids & set(self._children)
                rss += sum(self._children[pid].uss for pid in self._live)
                threads += sum(len(_tids(str(pid))) for pid in self._live)
            self._peak = max(self._peak, rss)
            self._threads = max(self._threads, threads)
            self._samples += 1

    def finish(self) -> WorkerCost:
        self.sample()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        children = list(self._children.values())
        return WorkerCost(
            host=self.host,
            jobs=1,
            memory_idle_bytes=self._rss_first,
            memory_peak_bytes=self._peak,
            memory_added_bytes=max(0, self._peak - self._rss_first),
            processes=1 + len(children),
            processes_started=sum(1 for child in children if child.started),
            threads=self._threads,
            threads_started=len(self._tids_seen - self._tids_first)
            + sum(len(child.tids - child.tids_first) for child in children),
            ctx_switches_voluntary=usage.ru_nvcsw
            - self._usage.ru_nvcsw
            + sum(child.ctx[0] - child.ctx_first[0] for child in children),
            ctx_switches_involuntary=usage.ru_nivcsw
            - self._usage.ru_nivcsw
            + sum(child.ctx[1] - child.ctx_first[1] for child in children),
            cpu_user_s=usage.ru_utime
            - self._usage.ru_utime
            + sum(child.cpu[0] - child.cpu_first[0] for child in children),
            cpu_system_s=usage.ru_stime
            - self._usage.ru_stime
            + sum(child.cpu[1] - child.cpu_first[1] for child in children),
            samples=self._samples,
        )


def _sample_if_due(meter: JobMeter) -> None:
    """A job shorter than the interval pays for no reading beyond its start and end."""
    if meter.opened <= time.monotonic() - SAMPLE_EVERY_S:
        meter.sample()


SAMPLER: Ticker[JobMeter] = Ticker("fanout-cost", SAMPLE_EVERY_S, _sample_if_due)
os.register_at_fork(after_in_child=_reopen_statm_after_fork)
