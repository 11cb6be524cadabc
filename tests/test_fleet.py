"""Workers that come and go, and hosts that are busy, as the pages and the CLI report them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from rq import Worker

from contract import keys
from contract.records import RunSpec
from contract.states import Strategy, Workload
from figures import runfacts
from producer.connection import fanout_queue
from producer.reader import load_run
from producer.submit import submit_run
from producer.wait import wait_for_run
from producer.workers import workers_overview
from tests.conftest import HOG
from tests.support import wait_until


def test_a_killed_worker_leaves_rqs_registry_within_the_liveness_window(private_fleet):
    client, workers = private_fleet
    queue = fanout_queue(client)
    before = {row["name"] for row in workers_overview(client, queue)["workers"]}
    assert len(before) == 2
    workers[0].signal_group(signal.SIGKILL)
    killed_at = time.monotonic()

    def forgotten() -> bool:
        return Worker.count(queue=queue) == 1

    wait_until(forgotten, keys.ALIVE_TTL_S + 10, "RQ's registry to drop the killed worker")
    assert time.monotonic() - killed_at <= keys.ALIVE_TTL_S + 10
    overview = workers_overview(client, queue)
    assert len(overview["workers"]) == 1 and overview["live"] == 1
    gone = overview["gone"]
    assert len(gone) == 1 and gone[0]["name"] in before
    assert gone[0]["how"].startswith("stopped beating")


def test_a_run_on_a_busy_host_is_flagged_with_the_cores_others_used(
    private_fleet, settings, origin_url
):
    client, _ = private_fleet
    urls = tuple(f"{origin_url}/delay/200?n={i}" for i in range(20))
    spec = RunSpec(urls, Strategy.QUEUE, 1, Workload.FETCH)
    hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(s=4)]) for _ in range(2)]
    try:
        run_id = submit_run(client, fanout_queue(client), spec, settings)
        wait_for_run(client, run_id, timeout_s=60)
    finally:
        for hog in hogs:
            hog.wait(timeout=30)
    time.sleep(runfacts.SETTLE_S + 1)
    load = load_run(client, run_id, include_tasks=False)["host_load"]
    assert load is not None and load["busy"], load
    assert load["max_others_cores"] > 1.0  # two hogs on two cores, less what fanout used
    wait_until(lambda: client.hget(keys.run_key(run_id), "host_load"), 10, "the kept facts")
    kept = load_run(client, run_id, include_tasks=False)
    assert kept["host_load"]["busy"] and kept["summary"]["workers"]["served"] == 2
