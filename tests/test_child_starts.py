"""A pool child's start markers: written in the background, dropped while Redis is away."""

from __future__ import annotations

import time

import redis as redis_lib

from contract import connection, keys
from contract.records import RunSpec, StartRecord
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from tests.support import free_port, start_redis, wait_until
from worker.child_starts import ChildStarts
from worker.task_writer import TaskWriter


def _start(index: int) -> StartRecord:
    url = f"http://127.0.0.1:9/{index}"
    return StartRecord(
        index=index, url=url, started_at=time.time(), worker="w", host="h", pid=1, thread="t"
    )


class _Counted:
    """The writer, counting the writes asked of it."""

    def __init__(self, writer: TaskWriter) -> None:
        self.writer = writer
        self.calls = 0

    def start(self, run_id: str, starts: list[StartRecord]) -> int | None:
        self.calls += 1
        return self.writer.start(run_id, starts)


def test_starts_land_in_the_background_and_an_outage_drops_them_without_a_word(tmp_path):
    port = free_port()
    writer = _Counted(TaskWriter(connection.connect(f"redis://127.0.0.1:{port}/0"), 3600))
    starts = ChildStarts(writer)  # type: ignore[arg-type]
    starts.send("no-such-run", _start(0))  # Redis is not there yet: never raises, never blocks
    wait_until(lambda: writer.calls == 1, 10, "the write tried (and refused)")

    service = start_redis(tmp_path, port=port)
    try:
        client = redis_lib.Redis.from_url(service.url)
        spec = RunSpec(tuple(f"http://127.0.0.1:9/{i}" for i in range(3)), Strategy.PROCESSES, 2)
        run_id = submit_run(client, fanout_queue(client), spec, Settings.from_env({}))
        for index in range(3):
            starts.send(run_id, _start(index))
        running = keys.running_key(run_id)
        wait_until(lambda: client.hlen(running) == 3, 10, "the three starts written")
        assert client.hget(keys.run_key(run_id), "state") == b"running"
    finally:
        service.stop()
