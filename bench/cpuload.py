"""How busy other processes kept this machine (it may be shared): the machine's busy CPU
seconds less the bench's own, over an interval."""

from __future__ import annotations

import contextlib
import os

import psutil


def busy_s() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of the bench's own processes)."""
    times = psutil.cpu_times()
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    own = sum(os.times()[:4])  # this process and its reaped children (baselines, bursts)
    # recursive: gunicorn's workers and Chromium are grandchildren, alive until the end
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cpu = proc.cpu_times()
            own += cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return busy, own


def others_cores(before: tuple[float, float], after: tuple[float, float], seconds: float) -> float:
    """Cores other processes kept busy on average between two `busy_s()` readings."""
    (busy, own), (busy_after, own_after) = before, after
    return max(0.0, (busy_after - busy) - (own_after - own)) / seconds
