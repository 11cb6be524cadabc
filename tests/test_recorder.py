"""The recorder against a real redis-server: what a flush writes, and what it may skip."""

from __future__ import annotations

import time

import pytest

from contract import keys
from contract.records import RunSpec, StartRecord, TaskRecord
from contract.settings import Settings
from contract.states import Strategy, TaskState
from producer.connection import fanout_queue
from producer.submit import submit_run
from tests.support import wait_until
from worker.recorder import Recorder
from worker.task_writer import TaskWriter


@pytest.fixture
def client(private_redis):
    """A private redis-server: command counts are read from INFO, which no one else must move."""
    return private_redis


def _run(client, n: int) -> str:
    spec = RunSpec(tuple(f"http://127.0.0.1:9/{i}" for i in range(n)), Strategy.THREADS, 4)
    return submit_run(client, fanout_queue(client), spec, Settings.from_env({}))


def _start(index: int) -> StartRecord:
    url = f"http://127.0.0.1:9/{index}"
    return StartRecord(
        index=index, url=url, started_at=time.time(), worker="w", host="h", pid=1, thread="t"
    )


def _end(start: StartRecord) -> TaskRecord:
    return TaskRecord(
        index=start.index,
        url=start.url,
        state=TaskState.OK,
        status_code=200,
        started_at=start.started_at,
        finished_at=time.time(),
        duration_s=0.0,
    )


def _starts_written(client) -> int:
    """START checks each start with one HEXISTS; nothing else in fanout runs HEXISTS."""
    return int(client.info("commandstats").get("cmdstat_hexists", {}).get("calls", 0))


def test_a_start_and_its_end_in_one_flush_write_only_the_end(client):
    run_id = _run(client, 10)
    recorder = Recorder(TaskWriter(client, 3600), run_id)
    starts = [_start(i) for i in range(10)]
    for start in starts:
        recorder.started(start)
    for start in starts[:6]:
        recorder.finished(_end(start))

    recorder.flush()  # what the process's flusher does every 0.1 s

    assert _starts_written(client) == 4  # tasks 6-9, still running
    running = {int(i) for i in client.hkeys(keys.running_key(run_id))}
    assert running == {6, 7, 8, 9}
    run = client.hgetall(keys.run_key(run_id))
    assert run[b"state"] == b"running"
    assert float(run[b"started_at"]) == pytest.approx(starts[0].started_at)
    assert b"workers_at_start" in run
    assert int(run[b"done"]) == 6

    for start in starts[6:]:
        recorder.finished(_end(start))
    recorder.flush()
    assert _starts_written(client) == 4
    assert client.hlen(keys.running_key(run_id)) == 0
    assert client.hget(keys.run_key(run_id), "state") == b"done"


def test_a_one_url_job_costs_one_write_and_still_marks_the_run_started(client):
    run_id = _run(client, 2)
    start = _start(0)
    with Recorder(TaskWriter(client, 3600), run_id) as recorder:
        recorder.started(start)
        recorder.finished(_end(start))

    assert _starts_written(client) == 0
    run = client.hgetall(keys.run_key(run_id))
    assert run[b"state"] == b"running"
    assert float(run[b"started_at"]) == pytest.approx(start.started_at)
    assert b"workers_at_start" in run
    assert client.hlen(keys.tasks_key(run_id)) == 1


def test_a_task_running_past_the_interval_shows_as_running(client):
    run_id = _run(client, 1)
    start = _start(0)
    with Recorder(TaskWriter(client, 3600), run_id) as recorder:
        recorder.started(start)
        wait_until(lambda: client.hexists(keys.running_key(run_id), "0"), 10, "the start")
        assert client.hget(keys.run_key(run_id), "state") == b"running"
        recorder.finished(_end(start))

    assert client.hlen(keys.running_key(run_id)) == 0
    assert client.hget(keys.run_key(run_id), "state") == b"done"


def test_the_last_flush_waits_out_a_redis_blip(client):
    """Exit returns only once the records are in Redis: RQ marks the job finished after it."""
    run_id = _run(client, 1)
    start = _start(0)
    recorder = Recorder(TaskWriter(client, 3600), run_id).__enter__()
    recorder.started(start)
    recorder.finished(_end(start))
    client.execute_command("CLIENT", "PAUSE", 500, "WRITE")  # holds every write for 0.5 s

    recorder.__exit__(None, None, None)

    assert client.hlen(keys.tasks_key(run_id)) == 1


def _evalsha_calls(client) -> int:
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


def test_a_flush_of_starts_and_ends_is_one_script_call(client):
    """Tasks still running and tasks ended, in one flush: one round trip, not one each."""
    run_id = _run(client, 11)
    recorder = Recorder(TaskWriter(client, 3600), run_id)
    recorder.finished(_end(_start(10)))
    recorder.flush()  # the script is loaded by now (a first EVALSHA may meet NOSCRIPT)
    starts = [_start(i) for i in range(10)]
    for start in starts:
        recorder.started(start)
    for start in starts[:6]:
        recorder.finished(_end(start))
    client.config_resetstat()

    recorder.flush()

    assert _evalsha_calls(client) == 1
    assert _starts_written(client) == 4
    assert {int(i) for i in client.hkeys(keys.running_key(run_id))} == {6, 7, 8, 9}
    assert int(client.hget(keys.run_key(run_id), "done")) == 7


def test_a_flush_into_a_run_that_is_gone_stops_the_job(client):
    """Starts and ends alike find no run record: the recorder says so, and writes nothing."""
    run_id = _run(client, 4)
    recorder = Recorder(TaskWriter(client, 3600), run_id)
    starts = [_start(i) for i in range(4)]
    for start in starts:
        recorder.started(start)
    recorder.finished(_end(starts[0]))
    client.delete(keys.run_key(run_id))

    recorder.flush()

    assert recorder.run_gone
    assert not client.exists(keys.running_key(run_id), keys.tasks_key(run_id))


def test_a_run_first_marked_started_by_a_start_keeps_that_time(client):
    """The run's started_at is the first flush that saw a task: a start's, when one is still
    running, not an earlier end's started_at from the same flush."""
    run_id = _run(client, 3)
    recorder = Recorder(TaskWriter(client, 3600), run_id)
    early = _start(0)
    recorder.started(early)
    recorder.finished(_end(early))
    recorder.started(_start(1))
    before = time.time()

    recorder.flush()

    started_at = float(client.hget(keys.run_key(run_id), "started_at"))
    assert started_at >= before
