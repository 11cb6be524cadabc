"""Hybrid balances its chunks over the live workers: no worker is left a spare wave of tasks
while another idles (the plan's rule, then real workers' task counts)."""

from __future__ import annotations

from collections import Counter

import pytest

from contract.plan import hybrid_chunk_size, partition
from contract.records import RunSpec
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


@pytest.mark.parametrize(
    ("tasks", "workers", "concurrency"),
    [(800, 2, 32), (800, 3, 32), (2000, 4, 16), (72, 2, 4), (12, 2, 2), (5, 8, 32), (1, 1, 8)],
)
def test_hybrid_cuts_one_even_chunk_per_live_worker(tasks, workers, concurrency):
    spec = RunSpec(tuple(f"http://h/{i}" for i in range(tasks)), Strategy.HYBRID, concurrency)
    parts = partition(spec, hybrid_chunk_size(spec, workers))
    sizes = [len(part) for part in parts]
    assert len(parts) == min(tasks, workers)
    assert max(sizes) - min(sizes) <= 1
    waves_per_worker = max(_ceil(size, concurrency) for size in sizes)
    assert waves_per_worker == _ceil(tasks, workers * concurrency)  # the fewest possible
    assert sorted(index for part in parts for index, _ in part) == list(range(tasks))


def test_hybrid_without_a_live_worker_cuts_one_wave_per_chunk():
    spec = RunSpec(tuple(f"http://h/{i}" for i in range(10)), Strategy.HYBRID, 4)
    assert [len(p) for p in partition(spec, hybrid_chunk_size(spec, 0))] == [4, 4, 2]


def test_two_workers_run_a_hybrid_batch_within_one_wave_of_each_other(
    private_fleet, settings, origin_url
):
    client, _ = private_fleet
    concurrency = 4
    urls = tuple(f"{origin_url}/delay/50?n={i}" for i in range(72))
    spec = RunSpec(urls, Strategy.HYBRID, concurrency)
    run_id = submit_run(client, fanout_queue(client), spec, settings)
    record = wait_for_run(client, run_id, timeout_s=60)
    assert check_run(client, run_id)["duplicates"] == 0
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    per_worker = Counter(t["worker"] for t in record["tasks"])
    assert len(per_worker) == 2, per_worker
    low, high = sorted(per_worker.values())
    assert high - low <= concurrency, per_worker


def test_a_hybrid_chunk_runs_its_tasks_on_one_event_loop_per_worker(
    private_fleet, settings, origin_url
):
    """A chunk's tasks share one thread's event loop in its worker process, `concurrency` lanes
    of it, not a pool thread per lane: W chunks at once share the host's cores, and thread lanes
    cost about three times the client CPU per task (the hybrid-balance bench)."""
    client, _ = private_fleet
    concurrency = 4
    urls = tuple(f"{origin_url}/delay/50?n={i}" for i in range(24))
    run_id = submit_run(
        client, fanout_queue(client), RunSpec(urls, Strategy.HYBRID, concurrency), settings
    )
    record = wait_for_run(client, run_id, timeout_s=60)
    assert check_run(client, run_id)["duplicates"] == 0
    assert {t["state"] for t in record["tasks"]} == {"ok"}
    lanes: dict[tuple[str, int], set[str]] = {}
    for task in record["tasks"]:
        lanes.setdefault((task["worker"], task["pid"]), set()).add(task["thread"])
    assert len(lanes) == 2, lanes
    for names in lanes.values():
        loops = {name.rpartition(":slot")[0] for name in names}
        assert len(loops) == 1 and "" not in loops, names  # one loop's thread, its slots
        assert len(names) <= concurrency, names
