"""Reads that don't grow with the run: a summary, the run list and a live poll cost the same for
a run of 10 tasks and of 20,000 (they read every task record before: HGETALL per read).

Measured as the bytes Redis sent (`INFO stats` total_net_output_bytes) on a private Redis, as the
recorder tests count commands: a property of the reads, not of the machine's speed.
"""

from __future__ import annotations

import time

import pytest
import redis as redis_lib

from contract import keys
from contract.records import RunSpec, TaskRecord
from contract.settings import Settings
from contract.states import Strategy, TaskState, Workload
from producer.connection import fanout_queue
from producer.reader import list_runs, load_run
from producer.submit import submit_run
from worker.finalize import finalize_ended_runs
from worker.task_writer import TaskWriter

SMALL, BIG = 10, 20_000


def write_run(client: redis_lib.Redis, n: int, *, ended: int | None = None) -> str:
    """A run of n tasks, submitted as the producer does (no worker takes its job), whose first
    `ended` tasks are then recorded as workers record them."""
    urls = tuple(f"http://127.0.0.1:9/x?n={i}" for i in range(n))
    spec = RunSpec(urls, Strategy.THREADS, 8, Workload.FETCH)
    now = time.time()
    run_id = submit_run(client, fanout_queue(client), spec, Settings())
    writer = TaskWriter(client, 600)
    ended = n if ended is None else ended
    for first in range(0, ended, 1000):
        records = [
            TaskRecord(
                index=i,
                url=urls[i],
                state=TaskState.OK,
                status_code=200,
                bytes=1024,
                started_at=now + i * 0.001,
                finished_at=now + i * 0.001 + 0.1,
                duration_s=0.1,
                worker="w",
                host="h",
                pid=1,
                thread="t",
                cores=2,
            )
            for i in range(first, min(ended, first + 1000))
        ]
        assert writer.finish(run_id, records) == len(records)
    return run_id


def sent_bytes(client: redis_lib.Redis, read) -> int:
    before = client.info("stats")["total_net_output_bytes"]
    read()
    return client.info("stats")["total_net_output_bytes"] - before


def test_a_summary_read_costs_the_same_for_10_tasks_and_20000(private_redis):
    client = private_redis
    small, big = write_run(client, SMALL), write_run(client, BIG)
    cost = {}
    finalize_ended_runs(client, now=time.time() + 3600)  # the workers keep each ended run's peak
    for name, run_id in (("small", small), ("big", big)):
        cost[name] = sent_bytes(client, lambda r=run_id: load_run(client, r, include_tasks=False))
    record = load_run(client, big, include_tasks=False)
    assert record["done"] == BIG and record["summary"]["timed"] == BIG
    assert record["summary"]["sum_s"] == pytest.approx(BIG * 0.1)
    assert record["summary"]["peak_concurrency"] == 100  # 0.1 s tasks starting 1 ms apart
    assert cost["big"] <= 1.5 * cost["small"] + 256, cost


def test_a_read_writes_nothing(private_redis):
    """An ended run that no worker has finalized yet: reading it (its peak concurrency comes
    from the tasks then) leaves every key as it was. A read that wrote would race the writers
    and need write access to Redis."""
    client = private_redis
    run_id = write_run(client, SMALL)
    table = client.command()
    client.config_resetstat()
    for include_tasks in (False, True):
        load_run(client, run_id, include_tasks=include_tasks)
    writes = {
        name: stats["calls"]
        for name, stats in client.info("commandstats").items()
        if "write" in table[name.removeprefix("cmdstat_").partition("|")[0]]["flags"]
    }
    assert writes == {}


def test_the_run_list_reads_no_task(private_redis):
    client = private_redis
    client.delete(keys.runs_index_key())
    for _ in range(5):
        write_run(client, SMALL)
    small = sent_bytes(client, lambda: list_runs(client, limit=5))
    client.delete(keys.runs_index_key())
    for _ in range(5):
        write_run(client, BIG)
    big = sent_bytes(client, lambda: list_runs(client, limit=5))
    assert big <= 1.5 * small + 1024, (small, big)


def test_a_live_poll_reads_only_what_ended_since(private_redis):
    client = private_redis
    run_id = write_run(client, BIG, ended=BIG - 5)
    record = load_run(client, run_id, since=BIG - 10)
    assert [task["index"] for task in record["tasks"]] == list(range(BIG - 10, BIG - 5))
    poll = sent_bytes(client, lambda: load_run(client, run_id, since=BIG - 10))
    whole = sent_bytes(client, lambda: load_run(client, run_id))
    assert poll * 100 < whole, (poll, whole)


def test_tasks_are_paged_by_index(private_redis):
    client = private_redis
    run_id = write_run(client, 3000)
    page = load_run(client, run_id, offset=1000, limit=500)
    assert [t["index"] for t in page["tasks"]] == list(range(1000, 1500))
    assert page["offset"] == 1000 and page["done"] == 3000
    tail = load_run(client, run_id, offset=2900, limit=500)
    assert [t["index"] for t in tail["tasks"]] == list(range(2900, 3000))
