"""Reading runs back: incremental reads return each ended task once, in the order they ended."""

from __future__ import annotations

import time

import pytest

from contract.records import RunSpec, TaskRecord
from contract.states import Strategy, TaskState
from producer.connection import fanout_queue
from producer.reader import load_run
from producer.submit import submit_run
from producer.wait import run_state

pytestmark = pytest.mark.usefixtures("workers")


def test_polling_with_since_sees_every_task_exactly_once(redis_client, settings, origin_url):
    urls = tuple(f"{origin_url}/delay/{50 * (i % 5)}?n={i}" for i in range(30))
    run_id = submit_run(
        redis_client, fanout_queue(redis_client), RunSpec(urls, Strategy.THREADS, 3), settings
    )
    seen: list[int] = []
    while True:
        record = load_run(redis_client, run_id, since=len(seen))
        assert record["since"] == len(seen)
        seen += [task["index"] for task in record["tasks"]]
        if record["state"] == "done" and len(seen) == len(urls):
            break
        time.sleep(0.05)
    assert sorted(seen) == list(range(len(urls)))
    full = load_run(redis_client, run_id)
    assert [t["index"] for t in full["tasks"]] == list(range(len(urls)))
    assert load_run(redis_client, run_id, since=len(urls))["tasks"] == []
    assert run_state(redis_client, run_id) == ("done", 30, 30)


def test_since_returns_tasks_in_the_order_they_ended_not_by_index(private_redis):
    """The order is written by the recorder itself, on a private Redis with no workers, so the
    finishing order is fixed by the test, not by timing: 2 ends first, then 0, then 1."""
    from contract.settings import Settings
    from worker.task_writer import TaskWriter

    client = private_redis
    urls = tuple(f"http://127.0.0.1:9/{i}" for i in range(3))
    run_id = submit_run(
        client, fanout_queue(client), RunSpec(urls, Strategy.THREADS, 3), Settings.from_env({})
    )
    writer = TaskWriter(client, 3600)
    for index in (2, 0, 1):
        now = time.time()
        record = TaskRecord(
            index=index,
            url=urls[index],
            state=TaskState.OK,
            status_code=200,
            started_at=now,
            finished_at=now,
        )
        writer.finish(run_id, [record])

    assert [t["index"] for t in load_run(client, run_id, since=0)["tasks"]] == [2, 0, 1]
    assert [t["index"] for t in load_run(client, run_id, since=1)["tasks"]] == [0, 1]
    assert [t["index"] for t in load_run(client, run_id)["tasks"]] == [0, 1, 2]
