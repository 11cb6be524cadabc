"""Workers that come and go, and hosts that are busy, as the pages and the CLI report them."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time

import redis as redis_lib
from rq import Worker
from rq.worker_registration import WORKERS_BY_QUEUE_KEY

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


def test_a_worker_is_counted_live_only_once_rqs_registry_lists_it(fleet):
    """The Workers page lists RQ's registered workers that fanout counts live: a worker counted
    live before RQ's birth (its row missing, the count saying one more) would disagree with it."""
    registry = WORKERS_BY_QUEUE_KEY % fanout_queue(fleet.client).name
    # The commands in the order the server ran them, on a connection that waits as long as it takes.
    listener = redis_lib.Redis.from_url(fleet.env["REDIS_URL"], socket_timeout=None)
    order: list[str] = []
    watching = threading.Event()

    def watch() -> None:
        with contextlib.suppress(redis_lib.ConnectionError), listener.monitor() as monitor:
            watching.set()
            for command in monitor.listen():
                words = command["command"].split()
                if words[:2] == ["ZADD", keys.alive_workers_key()]:
                    order.append("live")
                elif words[:2] == ["SADD", registry]:
                    order.append("registered")
                if len(order) >= 2:
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert watching.wait(10), "MONITOR did not start"
    fleet.start("ordered")
    thread.join(30)
    assert order == ["registered", "live"]


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
