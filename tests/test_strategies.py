"""The local-concurrency runners in-process, against the test stack's redis-server and origin."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from rq import Queue
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

from contract.records import RunSpec
from contract.states import Strategy, Workload
from producer.reader import load_run
from producer.submit import submit_run
from worker import strategies
from worker.fetch import FetchLimits
from worker.recorder import Recorder
from worker.task import TaskContext
from worker.task_writer import TaskWriter


def _stored_run(redis_client, settings, urls: tuple[str, ...], strategy: Strategy) -> str:
    """A run as the web app stores it, its jobs dropped: the test runs the runner itself."""
    queue = Queue("test-strategies", connection=redis_client, serializer=JSONSerializer)
    run_id = submit_run(redis_client, queue, RunSpec(urls, strategy, 8), settings)
    queue.empty()
    return run_id


def _context(settings, run_id: str) -> TaskContext:
    limits = FetchLimits.from_settings(settings)
    return TaskContext(run_id, Workload.FETCH, 1, limits, settings.cpu_rounds, settings.redis_url)


@pytest.mark.parametrize("strategy", [Strategy.SEQUENTIAL, Strategy.ASYNCIO])
def test_rq_job_timeout_ends_the_job_not_one_task(redis_client, settings, origin_url, strategy):
    """RQ ends an overlong job by raising from SIGALRM in the thread running the tasks: the
    runner must let it through, not record it as that task's error and go on with the next."""
    urls = tuple(f"{origin_url}/delay/600?i={i}" for i in range(6))
    run_id = _stored_run(redis_client, settings, urls, strategy)
    runner = strategies.RUNNERS[strategy]
    started = time.monotonic()
    with (
        pytest.raises(JobTimeoutException),
        UnixSignalDeathPenalty(1, JobTimeoutException),
        Recorder(TaskWriter(redis_client, 600), run_id) as recorder,
    ):
        runner(list(enumerate(urls)), _context(settings, run_id), recorder, 1)
    assert time.monotonic() - started < 2.5


def test_the_asyncio_runner_holds_a_task_per_slot_not_per_url(
    redis_client, settings, origin_url, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task per URL under a semaphore made a 100,000-URL job hold 100,000 coroutines from its
    start, walked by every garbage collection; lanes hold `concurrency` of them."""
    urls = tuple(f"{origin_url}/delay/0?bytes=16&i={i}" for i in range(300))
    run_id = _stored_run(redis_client, settings, urls, Strategy.ASYNCIO)
    in_flight: list[int] = []
    fetch_async = strategies.fetch_async

    async def counting_fetch(*args, **kwargs):  # type: ignore[no-untyped-def]
        in_flight.append(len(asyncio.all_tasks()))
        return await fetch_async(*args, **kwargs)

    monkeypatch.setattr(strategies, "fetch_async", counting_fetch)
    with Recorder(TaskWriter(redis_client, 600), run_id) as recorder:
        strategies.run_asyncio(list(enumerate(urls)), _context(settings, run_id), recorder, 8)

    assert len(in_flight) == len(urls)
    assert max(in_flight) <= 8 + 2, max(in_flight)  # the lanes, the main task, the watchdog
    record = load_run(redis_client, run_id)
    assert record is not None and record["state"] == "done"
    assert [task["state"] for task in record["tasks"]] == ["ok"] * len(urls)
    loop_thread = threading.current_thread().name
    assert {task["thread"] for task in record["tasks"]} == {
        f"{loop_thread}:slot{n}" for n in range(8)
    }
