"""The worker's pools outlive the job: threads keep their HTTP sessions, forked children stay.

Built per job, a ThreadPoolExecutor cost 13.5% of a hybrid worker's GIL time and dropped its
keep-alive connections, and a process pool paid a fork per child per job (bench/RESULTS.md).
"""

from __future__ import annotations

import os
import signal
import threading
import uuid

import psutil
import pytest
from rq import Worker

from contract.records import RunSpec, StartRecord, TaskRecord
from contract.settings import Settings
from contract.states import Strategy, Workload
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.support import alive_workers, wait_until
from worker import pools
from worker.fetch import FetchLimits
from worker.strategies import run_threads
from worker.task import TaskContext, thread_session


class SessionNotingRecorder:
    """Stands in for the Redis recorder (tested elsewhere): notes which HTTP session each task's
    thread holds when the task starts, and every record."""

    run_gone = False  # the run record never vanishes here

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.sessions: set[int] = set()
        self.records: list[TaskRecord] = []
        self._lock = threading.Lock()

    def started(self, start: StartRecord) -> None:
        with self._lock:
            self.sessions.add(id(thread_session(self.limits)))

    def finished(self, record: TaskRecord) -> None:
        with self._lock:
            self.records.append(record)


def test_thread_lanes_reuse_threads_and_sessions_across_jobs(settings, origin_url):
    limits = FetchLimits.from_settings(settings)
    ctx = TaskContext("pools", Workload.FETCH, 1, limits, settings.cpu_rounds, settings.redis_url)
    tasks = [(i, f"{origin_url}/delay/50?n={i}") for i in range(12)]
    seen = []
    for _ in range(2):
        recorder = SessionNotingRecorder(limits)
        run_threads(tasks, ctx, recorder, 4)
        assert sorted(r.index for r in recorder.records) == list(range(12))
        assert {r.state.value for r in recorder.records} == {"ok"}
        assert len({r.thread for r in recorder.records}) == 4
        seen.append((recorder.sessions, set(pools.thread_pool()._threads)))
    (sessions_1, threads_1), (sessions_2, threads_2) = seen
    assert len(sessions_1) == 4
    assert sessions_2 == sessions_1  # the second job's threads still hold the first's sessions
    assert threads_2 == threads_1


@pytest.fixture
def one_worker(fleet):
    worker = fleet.start("pools")
    wait_until(lambda: alive_workers(fleet.client), 30, "the worker")
    yield fleet.env, fleet.client
    worker.stop(timeout_s=10)
    assert "Traceback" not in worker.log()


def test_processes_keep_their_children_while_the_size_fits(one_worker, origin_url):
    env, client = one_worker
    settings = Settings.from_env(env)

    def child_pids(concurrency: int, n_tasks: int = 6) -> set[int]:
        # The first tasks wait on the origin until as many are in flight as the pool can hold,
        # so each of its children runs one of them, whatever the machine's load: the pids
        # below count the pool's children, not how the scheduler spread 6 tasks over them.
        at_once = min(concurrency, n_tasks)
        barrier = f"{origin_url}/barrier/{uuid.uuid4().hex}/{at_once}?timeout_ms=2500"
        urls = tuple(
            f"{barrier}&n={i}" if i < at_once else f"{origin_url}/delay/100?n={i}"
            for i in range(n_tasks)
        )
        spec = RunSpec(urls, Strategy.PROCESSES, concurrency)
        run_id = submit_run(client, fanout_queue(client), spec, settings)
        record = wait_for_run(client, run_id, timeout_s=60)
        assert {task["state"] for task in record["tasks"]} == {"ok"}
        return {task["pid"] for task in record["tasks"]}

    first = child_pids(3)
    assert len(first) == 3
    assert child_pids(3) == first  # kept
    assert child_pids(4, n_tasks=3) == first  # 3 tasks need 3 and 3 stay within 4: kept
    assert len(child_pids(4) - first) == 4  # 6 tasks at 4 need 4: a fresh pool
    first = child_pids(4)
    smaller = child_pids(2)  # 4 would exceed 2: a fresh pool of 2
    assert len(smaller) == 2 and not smaller & first


def test_children_of_a_killed_worker_exit(one_worker, origin_url):
    env, client = one_worker
    settings = Settings.from_env(env)
    urls = tuple(f"{origin_url}/delay/50?n={i}" for i in range(4))
    spec = RunSpec(urls, Strategy.PROCESSES, 2)
    run_id = submit_run(client, fanout_queue(client), spec, settings)
    record = wait_for_run(client, run_id, timeout_s=60)
    children = [psutil.Process(pid) for pid in {task["pid"] for task in record["tasks"]}]
    assert len(children) == 2 and all(child.is_running() for child in children)

    worker_key = Worker.redis_worker_namespace_prefix + record["tasks"][0]["worker"]
    worker_pid = int(client.hget(worker_key, "pid"))
    assert {child.ppid() for child in children} == {worker_pid}
    os.kill(worker_pid, signal.SIGKILL)  # no chance to shut its pool down

    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], "pool children outlived their killed worker"
