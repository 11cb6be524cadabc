"""How a producer waits for a run: it blocks on a read that the run's end (or a worker's CPU
sample, for its host load) wakes, not on a poll. Against real redis-servers; the intervals are
set far longer than the runs, so a wait that slept its interval would be caught by the thread
still waiting, not by a clock threshold."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
import redis as redis_lib

from contract import keys
from contract.records import RunSpec, TaskRecord
from contract.settings import Settings
from contract.states import Strategy, TaskState
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run, wait_until_final
from tests.support import start_redis, wait_until
from worker.task_writer import TaskWriter

#: The wait's interval between reads in these tests: far past anything they wait for.
LONG_S = 60.0


class CountingRedis(redis_lib.Redis):
    """A real client that counts the commands it sends, by name."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: Counter[str] = Counter()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent[str(args[0]).upper()] += 1
        return super().execute_command(*args, **options)


@pytest.fixture
def client(tmp_path):
    """A private redis-server, so its blocked clients are the test's own."""
    service = start_redis(tmp_path)
    client = redis_lib.Redis.from_url(service.url)
    yield client
    client.close()
    service.stop()


def _run(client, n: int) -> str:
    spec = RunSpec(tuple(f"http://127.0.0.1:9/{i}" for i in range(n)), Strategy.THREADS, 4)
    return submit_run(client, fanout_queue(client), spec, Settings.from_env({}))


def _end(index: int) -> TaskRecord:
    now = time.time()
    return TaskRecord(
        index=index,
        url=f"http://127.0.0.1:9/{index}",
        state=TaskState.OK,
        status_code=200,
        started_at=now - 0.01,
        finished_at=now,
        duration_s=0.01,
        worker="w",
        host="h",
    )


class Waiter(threading.Thread):
    """`wait_for_run` in a thread, on its own counting client."""

    def __init__(self, url: str, run_id: str, poll_s: float) -> None:
        super().__init__(daemon=True)
        self.redis = CountingRedis.from_url(url)
        self.run_id, self.poll_s = run_id, poll_s
        self.record: dict[str, Any] | None = None

    def run(self) -> None:
        self.record = wait_for_run(
            self.redis, self.run_id, poll_s=self.poll_s, timeout_s=2 * LONG_S, include_tasks=False
        )


def _url(client) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"


def _blocked(client) -> int:
    return int(client.info("clients")["blocked_clients"])


def test_a_wait_wakes_on_the_runs_last_task_not_on_its_poll(client):
    run_id = _run(client, 3)
    writer = TaskWriter(client, 3600)
    writer.finish(run_id, [_end(0), _end(1)])
    waiter = Waiter(_url(client), run_id, poll_s=LONG_S)
    waiter.start()
    wait_until(lambda: _blocked(client) == 1, 10, "the waiter blocked on a read")

    writer.finish(run_id, [_end(2)])  # the run's last task: the same script marks it done
    waiter.join(LONG_S / 2)

    assert not waiter.is_alive(), "the wait slept its interval out"
    assert waiter.record is not None and waiter.record["state"] == "done"
    # The state read before the wait and after the wake (the record's own reads are HGETALLs).
    assert waiter.redis.sent["HMGET"] == 2
    assert waiter.redis.sent["XREAD"] == 1


def test_a_missed_end_notification_still_ends_the_wait(client):
    """A run ended without its `ended` entry (a worker that does not write one): the wait
    reads the run again when its blocking read times out."""
    run_id = _run(client, 2)
    waiter = Waiter(_url(client), run_id, poll_s=0.3)
    waiter.start()
    wait_until(lambda: _blocked(client) == 1, 10, "the waiter blocked on a read")

    client.hset(keys.run_key(run_id), mapping={"state": "done", "done": 2})
    waiter.join(LONG_S / 2)

    assert not waiter.is_alive()
    assert waiter.record is not None and waiter.record["state"] == "done"
    assert client.xlen(keys.run_ends_key()) == 0  # no end was ever written
    assert waiter.redis.sent["XREAD"] >= 1


@pytest.mark.usefixtures("workers")
def test_the_final_record_is_read_when_a_cpu_sample_after_the_end_lands(
    redis_url, redis_client, origin_url
):
    """The host load of an ended run comes with the workers' next CPU sample: the wait is woken
    by it (the beats stream), and reads the record once or a few times, not every interval."""
    spec = RunSpec(tuple(f"{origin_url}/delay/20?n={i}" for i in range(4)), Strategy.THREADS, 4)
    settings = Settings.from_env({"REDIS_URL": redis_url})
    run_id = submit_run(redis_client, fanout_queue(redis_client), spec, settings)
    record = wait_for_run(redis_client, run_id, timeout_s=60)
    if not record["provisional"]:
        pytest.skip("a sample landed before the record was read: nothing left to wait for")
    counting = CountingRedis.from_url(redis_url)
    done: list[dict[str, Any]] = []
    thread = threading.Thread(
        target=lambda: done.append(
            wait_until_final(
                counting, run_id, record, poll_s=LONG_S, timeout_s=2 * LONG_S, include_tasks=False
            )
        ),
        daemon=True,
    )
    thread.start()
    thread.join(LONG_S / 2)

    assert not thread.is_alive(), "the wait slept its interval out"
    assert done and not done[0]["provisional"]
    assert done[0]["host_load"] is not None
    # Each worker samples once a second, and the run is final once every worker near it has
    # sampled past its end: a read per beat until then (two workers, about two seconds), not a
    # read per interval of a poll.
    assert counting.sent["XREAD"] <= 8
    assert counting.sent["HGETALL"] <= 8
