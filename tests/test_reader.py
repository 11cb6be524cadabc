"""Reading runs back: incremental reads return each ended task once, in the order they ended."""

from __future__ import annotations

import time

import pytest

from contract.records import RunSpec
from contract.states import Strategy
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
