"""No fanout process outlives its parent: a SIGKILLed `fanout up` takes its whole stack along, a
SIGKILLed worker takes its RQ scheduler along, a SIGKILLed supervisor's workers stop (warm: a job in
hand would end first).

Each service of `fanout up` runs in a session of its own (honcho's way), so nothing but the
parent-death signal (`contract.parent_death`) can stop them when their parent is killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import signal
import time

import psutil
import pytest
import redis as redis_lib
import requests
from rq.scheduler import RQScheduler
from rq.worker import BaseWorker, Worker

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.support import (
    alive_workers,
    free_port,
    start_redis,
    start_up,
    start_worker,
    wait_until,
)

#: The RQ 2.12.0 code `worker.process` copies or hooks into for these children, by the SHA-256 of
#: its source. If RQ changes one, re-read it against worker/process.py and worker/scheduler.py.
RQ_METHODS = {
    ("BaseWorker", "_start_scheduler"): "49c229109608aa31",
    ("RQScheduler", "start"): "7995068483aebe44",
    ("RQScheduler", "work"): "5d1810bdd4392089",
    ("Worker", "fork_work_horse"): "18679b6c0638d279",
    ("BaseWorker", "main_work_horse"): "76b22f56b2342374",
}

#: How long the orphans may take to go: the services get SIGKILL, gunicorn's workers notice their
#: master is gone within a second or two, the scheduler stops at its next one-second tick.
GONE_WITHIN_S = 30


def test_rq_code_the_parent_death_hooks_rely_on_is_unchanged():
    classes = {"BaseWorker": BaseWorker, "Worker": Worker, "RQScheduler": RQScheduler}
    changed = {}
    for (owner, name), expected in RQ_METHODS.items():
        source = inspect.getsource(getattr(classes[owner], name))
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        if digest != expected:
            changed[f"{owner}.{name}"] = digest
    assert not changed, f"RQ changed; re-check worker/process.py and worker/scheduler.py: {changed}"


def _kill_all(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _describe(processes: list[psutil.Process]) -> list[str]:
    described = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            described.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
    return described


@pytest.fixture
def up(tmp_path):
    """`fanout up` on private ports with its own embedded Redis; every process it started is
    killed at the end whatever happened."""
    ports = {name: str(free_port()) for name in ("WEB_PORT", "ORIGIN_PORT", "FANOUT_REDIS_PORT")}
    inherited = ("REDIS_URL", "ORIGIN_URL", "FANOUT_ALLOW_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(ports, FANOUT_DATA_DIR=str(tmp_path / "data"))
    log_path = tmp_path / "up.log"
    proc = start_up(env, log_path)
    seen: list[psutil.Process] = []
    try:
        yield proc, ports, log_path, seen
    finally:
        with contextlib.suppress(psutil.Error):
            seen += _descendants(proc.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _kill_all(seen)


def test_a_sigkilled_fanout_up_leaves_no_process_of_its_stack(up):
    proc, ports, log_path, seen = up
    client = redis_lib.Redis(port=int(ports["FANOUT_REDIS_PORT"]))

    def redis_up() -> bool:
        assert proc.poll() is None, log_path.read_text()
        try:
            return bool(client.ping())
        except redis_lib.RedisError:
            return False

    wait_until(redis_up, 60, "the embedded redis-server")
    wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 workers")
    web = f"http://127.0.0.1:{ports['WEB_PORT']}/healthz"

    def web_up() -> bool:
        try:
            return requests.get(web, timeout=2).ok
        except requests.RequestException:
            return False

    wait_until(web_up, 60, "the web app")
    # The worker that takes RQ's scheduler lock forks its scheduler right after.
    lock = RQScheduler.get_locking_key(keys.QUEUE_NAME)
    wait_until(lambda: client.exists(lock), 60, "a worker's scheduler")
    time.sleep(1)
    seen += _descendants(proc.pid)
    assert len(seen) >= 8, _describe(seen)  # 4 honcho runners, 4 services, and their children

    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(seen, timeout=GONE_WITHIN_S)
    assert alive == [], _describe(alive)


@pytest.fixture
def private_redis(tmp_path, stack_env):
    redis = start_redis(tmp_path)
    env = dict(stack_env, REDIS_URL=redis.url)
    try:
        yield redis_lib.Redis.from_url(redis.url), env
    finally:
        redis.stop()


def _scheduler_of(worker: psutil.Process) -> psutil.Process | None:
    """RQ's scheduler: the worker's forked child, while it holds the scheduler lock."""
    children = worker.children()
    return children[0] if children else None


def test_a_sigkilled_worker_takes_its_scheduler_along(private_redis, tmp_path):
    client, env = private_redis
    supervisor = start_worker(tmp_path, env, name="sup", pool=1)
    try:
        wait_until(lambda: len(alive_workers(client)) == 1, 60, "1 worker")
        worker = psutil.Process(supervisor.pid).children()[0]
        scheduler = wait_until(lambda: _scheduler_of(worker), 30, "the worker's scheduler")
        worker.kill()
        _, alive = psutil.wait_procs([scheduler], timeout=GONE_WITHIN_S)
        assert alive == [], f"scheduler {scheduler.pid} outlived its worker {worker.pid}"
    finally:
        leftovers = _descendants(supervisor.pid) if supervisor.alive() else []
        supervisor.stop(timeout_s=30)
        _kill_all(leftovers)


def test_a_sigkilled_supervisor_takes_its_workers_along(private_redis, tmp_path):
    client, env = private_redis
    supervisor = start_worker(tmp_path, env, name="sup", pool=2)
    family: list[psutil.Process] = []
    try:
        wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 workers")
        family = _descendants(supervisor.pid)
        # Only the supervisor: its group (which `Child.stop` would signal) must not be needed.
        os.kill(supervisor.pid, signal.SIGKILL)
        supervisor.proc.wait()
        _, alive = psutil.wait_procs(family, timeout=GONE_WITHIN_S)
        assert alive == [], _describe(alive)
    finally:
        _kill_all(family)
        supervisor.stop(timeout_s=5)


def _submit(client, env, urls, strategy: Strategy, concurrency: int = 1) -> str:
    spec = RunSpec(tuple(urls), strategy, concurrency)
    return submit_run(client, fanout_queue(client), spec, Settings.from_env(env))


def test_a_sigkilled_worker_takes_its_process_pool_along(private_redis, tmp_path, origin_url):
    """The processes strategy's pool outlives the job (it is kept for the next one); its
    children must not outlive the worker."""
    client, env = private_redis
    supervisor = start_worker(tmp_path, env, name="sup", pool=1)
    family: list[psutil.Process] = []
    try:
        wait_until(lambda: len(alive_workers(client)) == 1, 60, "1 worker")
        run_id = _submit(client, env, [f"{origin_url}/delay/10?n={i}" for i in range(4)],
                         Strategy.PROCESSES, concurrency=2)  # fmt: skip
        wait_for_run(client, run_id, timeout_s=60)
        worker = psutil.Process(supervisor.pid).children()[0]
        family = worker.children(recursive=True)
        assert len(family) >= 2, _describe(family)  # the pool's two children (and the scheduler)
        worker.kill()
        _, alive = psutil.wait_procs(family, timeout=GONE_WITHIN_S)
        assert alive == [], _describe(alive)
    finally:
        _kill_all(family)
        supervisor.stop(timeout_s=30)


def test_a_sigkilled_fork_worker_takes_its_work_horse_along(private_redis, tmp_path, origin_url):
    """RQ puts a work-horse in a process group of its own: only the parent-death signal ends it
    when its worker is killed."""
    client, env = private_redis
    # A task that outlasts GONE_WITHIN_S, so that only being killed ends the horse in time.
    env = dict(env, FANOUT_TASK_DEADLINE_S="120", FANOUT_READ_TIMEOUT_S="120")
    supervisor = start_worker(tmp_path, env, name="sup", pool=1, extra_args=("--class", "fork"))
    family: list[psutil.Process] = []
    try:
        wait_until(lambda: len(alive_workers(client)) == 1, 60, "1 worker")
        long_url = f"{origin_url}/delay/{(GONE_WITHIN_S + 20) * 1000}"
        run_id = _submit(client, env, [long_url], Strategy.SEQUENTIAL)
        wait_until(lambda: client.hlen(keys.running_key(run_id)) >= 1, 30, "the task running")
        worker = psutil.Process(supervisor.pid).children()[0]
        family = worker.children(recursive=True)
        horses = [p for p in family if os.getpgid(p.pid) == p.pid]
        assert horses, _describe(family)
        worker.kill()
        _, alive = psutil.wait_procs(family, timeout=GONE_WITHIN_S)
        assert alive == [], _describe(alive)
    finally:
        _kill_all(family)
        supervisor.stop(timeout_s=30)
