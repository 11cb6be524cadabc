"""The summary maths, on hand-made records (no Redis needed)."""

from __future__ import annotations

import pytest

from contract.records import RunSpec, TaskRecord
from contract.states import Strategy, TaskState, Workload
from figures.summary import peak_concurrency, slots_for
from tests.summaries import ideal_lower_bound, summarize


def task(index: int, start: float, end: float, **extra) -> TaskRecord:
    values = dict(
        index=index,
        url=f"http://o/{index}",
        state=TaskState.OK,
        started_at=start,
        finished_at=end,
        duration_s=end - start,
        host="h",
        cores=2,
    )
    values.update(extra)
    return TaskRecord(**values)


def test_peak_concurrency_counts_overlaps_not_back_to_back_tasks():
    assert peak_concurrency([(0, 1), (1, 2), (2, 3)]) == 1
    assert peak_concurrency([(0, 2), (1, 3), (1.5, 1.7)]) == 3
    assert peak_concurrency([]) == 0


def test_ideal_is_the_longest_task_or_the_work_spread_over_the_slots():
    assert ideal_lower_bound([1, 1, 1, 1], 2) == 2
    assert ideal_lower_bound([5, 1, 1], 8) == 5
    assert ideal_lower_bound([], 4) == 0


def test_summary_of_two_perfect_waves_on_two_slots():
    tasks = [task(0, 10, 11), task(1, 10, 11), task(2, 11, 12), task(3, 11, 12)]
    summary = summarize(tasks, workload=Workload.FETCH, slots=2, submitted_at=9.5, finished_at=12.5)
    assert summary.wall_s == 2
    assert summary.sum_s == 4
    assert summary.ideal_s == 2
    assert summary.efficiency == 1
    assert summary.speedup == 2
    assert summary.peak_concurrency == 2
    assert summary.throughput_per_s == 2
    assert summary.latency_s == 3
    assert summary.counts["ok"] == 4


def test_cpu_ideal_uses_cpu_time_and_is_capped_by_the_cores():
    # Four threads on one 2-core host: each task takes 2 s under the GIL but needs 0.5 s of CPU.
    tasks = [task(i, 0, 2, cpu_s=0.5) for i in range(4)]
    summary = summarize(tasks, workload=Workload.CPU, slots=4)
    assert summary.cores == 2
    assert summary.ideal_s == pytest.approx(1.0)  # 2 s of CPU over 2 cores
    assert summary.efficiency == pytest.approx(0.5)


def test_lost_tasks_count_but_have_no_timing():
    tasks = [task(0, 0, 1), TaskRecord(index=1, url="u", state=TaskState.LOST)]
    summary = summarize(tasks, workload=Workload.FETCH, slots=2)
    assert summary.tasks == 2 and summary.timed == 1
    assert summary.counts["lost"] == 1
    assert summary.wall_s == 1


def test_empty_run_has_no_ratios():
    summary = summarize([], workload=Workload.FETCH, slots=4)
    assert summary.wall_s is None and summary.efficiency is None and summary.speedup is None


@pytest.mark.parametrize(
    ("strategy", "workers", "chunk", "expected"),
    [
        (Strategy.SEQUENTIAL, 4, None, 1),
        (Strategy.THREADS, 4, None, 8),
        (Strategy.PROCESSES, 1, None, 8),
        (Strategy.ASYNCIO, 1, None, 8),
        (Strategy.QUEUE, 3, None, 3),
        (Strategy.QUEUE, 0, None, 1),
        (Strategy.HYBRID, 2, 8, 16),
        (Strategy.HYBRID, 8, 32, 16),  # two chunks (32 and 8 tasks), 8 threads each
    ],
)
def test_slots_per_strategy(strategy, workers, chunk, expected):
    spec = RunSpec(tuple(f"http://o/{i}" for i in range(40)), strategy, concurrency=8)
    assert slots_for(spec, workers, chunk) == expected


def test_records_round_trip_through_json():
    record = task(3, 1.5, 2.5, error="x", status_code=200, worker="w", pid=7, thread="t")
    assert TaskRecord.from_json(record.to_json()) == record
    spec = RunSpec(("http://a",), Strategy.HYBRID, 3, Workload.CPU)
    assert RunSpec.from_dict(spec.to_dict()) == spec
