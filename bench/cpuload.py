"""How busy other processes kept this machine (it may be shared): the machine's busy CPU
seconds less the bench's own, over an interval."""

from __future__ import annotations

import contextlib
import os

import psutil


def tree_cpu_s(pids: list[int]) -> float:
    """User + system seconds of these processes, their reaped children and their live ones."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for each in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = each.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
    return total


def busy_s() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of the bench's own processes: this
    one, its reaped children (baselines, bursts) and its live descendants (gunicorn's workers
    and Chromium are grandchildren, alive until the end))."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - times.iowait, tree_cpu_s([os.getpid()])


def others_cores(before: tuple[float, float], after: tuple[float, float], seconds: float) -> float:
    """Cores other processes kept busy on average between two `busy_s()` readings."""
    (busy, own), (busy_after, own_after) = before, after
    return max(0.0, (busy_after - busy) - (own_after - own)) / seconds
