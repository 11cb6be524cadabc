"""The local-concurrency runners in-process, against the test stack's redis-server and origin."""

from __future__ import annotations

import asyncio
import threading

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from contract.records import RunSpec
from contract.states import Strategy, Workload
from producer.reader import load_run
from producer.submit import submit_run
from worker import strategies
from worker.fetch import FetchLimits
from worker.recorder import Recorder
from worker.task import TaskContext
from worker.task_writer import TaskWriter


def test_the_asyncio_runner_holds_a_task_per_slot_not_per_url(
    redis_client, settings, origin_url, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task per URL under a semaphore made a 100,000-URL job hold 100,000 coroutines from its
    start, walked by every garbage collection; lanes hold `concurrency` of them."""
    urls = tuple(f"{origin_url}/delay/0?bytes=16&i={i}" for i in range(300))
    queue = Queue("test-strategies", connection=redis_client, serializer=JSONSerializer)
    run_id = submit_run(redis_client, queue, RunSpec(urls, Strategy.ASYNCIO, 8), settings)
    queue.empty()  # no worker reads it: this test runs the job's runner itself
    in_flight: list[int] = []
    fetch_async = strategies.fetch_async

    async def counting_fetch(*args, **kwargs):  # type: ignore[no-untyped-def]
        in_flight.append(len(asyncio.all_tasks()))
        return await fetch_async(*args, **kwargs)

    monkeypatch.setattr(strategies, "fetch_async", counting_fetch)
    limits = FetchLimits.from_settings(settings)
    ctx = TaskContext(run_id, Workload.FETCH, 1, limits, settings.cpu_rounds, settings.redis_url)
    with Recorder(TaskWriter(redis_client, 600), run_id) as recorder:
        strategies.run_asyncio(list(enumerate(urls)), ctx, recorder, 8)

    assert len(in_flight) == len(urls)
    assert max(in_flight) <= 8 + 2, max(in_flight)  # the lanes, the main task, the watchdog
    record = load_run(redis_client, run_id)
    assert record is not None and record["state"] == "done"
    assert [task["state"] for task in record["tasks"]] == ["ok"] * len(urls)
    loop_thread = threading.current_thread().name
    assert {task["thread"] for task in record["tasks"]} == {
        f"{loop_thread}:slot{n}" for n in range(8)
    }
