"""The live-workers line is steady: a worker counts as alive through the liveness window, not by
whether its heartbeat landed in a given second (it used to dip from 2 to 1 with two idle
workers, and jump between 4 and 8 on a busy host). A worker stopped past the window and resumed
is listed live again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest
from rq import Worker

from contract import keys
from producer.connection import fanout_queue
from producer.stats import throughput_series
from producer.workers import workers_overview
from tests.conftest import HOG
from tests.support import wait_until

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


def test_a_worker_resumed_after_a_long_stop_is_listed_live_again(private_fleet):
    """A worker stopped (SIGSTOP) past the liveness window is taken for dead: the other worker's
    housekeeping removes it from RQ's registry and the Workers page lists it as gone. Once it
    resumes beating it is listed live again, and its span is live, not gone."""
    client, workers = private_fleet
    queue = fanout_queue(client)

    def registered() -> dict[int, str]:
        by_pid = {worker.pid: worker.name for worker in Worker.all(queue=queue)}
        return by_pid if len(by_pid) == 2 else {}

    by_pid = wait_until(registered, 30, "both workers in RQ's registry")
    stalled_process = psutil.Process(workers[0].pid).children()[0]  # the supervisor's worker
    name = by_pid[stalled_process.pid]
    stalled_process.suspend()
    try:
        wait_until(
            lambda: name not in {w.name for w in Worker.all(queue=queue)},
            keys.ALIVE_TTL_S + 60,
            "the stalled worker removed from RQ's registry",
        )
        gone = {row["name"] for row in workers_overview(client, queue)["gone"]}
        assert name in gone
    finally:
        stalled_process.resume()

    def listed_live() -> bool:
        overview = workers_overview(client, queue)
        return name in {row["name"] for row in overview["workers"]} and overview["live"] == 2

    wait_until(listed_live, 30, "the resumed worker listed live again")
    overview = workers_overview(client, queue)
    assert name not in {row["name"] for row in overview["gone"]}
    row = next(row for row in overview["workers"] if row["name"] == name)
    assert row["alive"] and row["pid"] == stalled_process.pid and row["state"] in ("idle", "busy")
    assert row["born_at"] is not None
