"""Hostile targets through real workers: each ends within its deadline, memory stays bounded, and
the other tasks of the run are unaffected."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from rq import Worker

from contract.records import RunSpec
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run

pytestmark = pytest.mark.usefixtures("workers")


class Sentinel:
    """A loopback listener that counts every connection it is offered."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("strategy", ["threads", "asyncio"])
def test_hostile_targets_end_in_time_and_leave_the_rest_alone(
    redis_client, settings, origin_url, strategy
):
    sentinel = Sentinel()
    hostile = {
        f"{origin_url}/drip?bytes=100&interval_ms=300": "timeout",
        f"{origin_url}/hang": "timeout",
        f"{origin_url}/huge": "error",
        f"{origin_url}/gzip-bomb?mb=200": "ok",  # counted raw, never inflated
        f"{origin_url}/redirect-loop": "error",
        f"{origin_url}/redirect-to?url=http://127.0.0.1:{sentinel.port}/": "refused",
        f"http://127.0.0.1:{sentinel.port}/": "refused",
        f"http://2130706433:{sentinel.port}/": "refused",
    }
    normal = [f"{origin_url}/delay/200?bytes=777&n={i}" for i in range(6)]
    urls = (*hostile, *normal)
    spec = RunSpec(urls, Strategy(strategy), concurrency=len(urls))
    run_id = submit_run(redis_client, fanout_queue(redis_client), spec, settings)
    record = wait_for_run(redis_client, run_id, timeout_s=120)

    check_run(redis_client, run_id)
    by_url = {task["url"]: task for task in record["tasks"]}
    for url, expected in hostile.items():
        task = by_url[url]
        assert task["state"] == expected, task
        # The total deadline bounds every task (plus scheduling slack), not just each read.
        assert task["duration_s"] <= settings.task_deadline_s + 2, task
    assert by_url[f"{origin_url}/gzip-bomb?mb=200"]["bytes"] < 2 * 1024 * 1024
    for url in normal:
        assert by_url[url]["state"] == "ok" and by_url[url]["bytes"] == 777
    assert sentinel.connections == 0

    worker_name = record["tasks"][0]["worker"]
    pid = int(redis_client.hget(Worker.redis_worker_namespace_prefix + worker_name, "pid"))
    peak = peak_rss_mib(pid)
    print(f"{strategy}: worker peak RSS {peak:.0f} MiB")
    assert peak < 200, f"worker peak RSS {peak:.0f} MiB"
