"""The live-workers line is steady: a worker counts as alive through the liveness window, not by
whether its heartbeat landed in a given second (it used to dip from 2 to 1 with two idle
workers, and jump between 4 and 8 on a busy host)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from producer.stats import throughput_series
from tests.conftest import HOG

HOG_S = 30


@pytest.mark.slow  # holds both cores for HOG_S seconds
def test_two_idle_workers_stay_two_while_a_hog_holds_both_cores(private_fleet):
    client, workers = private_fleet
    time.sleep(2)  # both have beaten for a full second
    start = int(time.time())
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(s=HOG_S)]) for _ in range(2)]
    # A host so busy that one worker misses its beats for 2.5 s (well inside the liveness
    # window): it is as alive as before, and the line must say so.
    time.sleep(HOG_S / 2)
    stalled = workers[0]
    stalled.signal_group(signal.SIGSTOP)
    time.sleep(2.5)
    stalled.signal_group(signal.SIGCONT)
    for hog in hogs:
        hog.wait(timeout=HOG_S + 30)
    time.sleep(1.5)  # the last second is complete
    series = throughput_series(client, window_s=int(time.time()) - start)
    assert len(series["workers"]) >= HOG_S
    assert set(series["workers"]) == {2}, series["workers"]
