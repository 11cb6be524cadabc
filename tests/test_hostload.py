"""A run's host load: fanout's own stack (marked `FANOUT_STACK` in its processes' environment)
told apart from other processes, the busy warning raised by other processes alone, the same
words on the page, in the API and in the CLI, and a run final only once its host load is in."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis as redis_lib

from contract import fleet
from contract.fleet import STACK_ENV, STACK_PART_ENV
from contract.records import RunSpec, WorkerSpan
from contract.states import Strategy, Workload
from fanout.children import http_ok
from fanout.report import summary_lines
from figures import hostload
from producer import hostnote
from producer.connection import fanout_queue
from producer.reader import load_run
from producer.submit import submit_run
from tests.conftest import Fleet
from tests.support import alive_workers, free_port, wait_until
from web.runnotes import host_load_note

SPIN = "while True: pass"


def _spinner(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SPIN], env=env)


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _stop(*procs: subprocess.Popen[bytes]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait(timeout=10)


def _marked(token: str, part: str) -> dict[str, str]:
    return dict(os.environ, **{fleet.STACK_ENV: token, fleet.STACK_PART_ENV: part})


def _exec_done(proc: subprocess.Popen[bytes], token: str | None) -> None:
    """Wait until the child runs its own program (its environment is its own, not ours)."""
    process = psutil.Process(proc.pid)
    wait_until(
        lambda: process.environ().get(fleet.STACK_ENV) == token and _cpu_s(process) > 0,
        30,
        "the spinner to start",
    )


# --- the sampler: real processes ---------------------------------------------------------


def test_the_stack_sampler_counts_its_own_stack_and_no_one_else():
    from worker.stack_cpu import StackCpu

    token = f"test-{uuid.uuid4().hex}"
    ours = _spinner(_marked(token, "origin"))
    foreign = _spinner(dict(os.environ))
    other_stack = _spinner(_marked(f"test-{uuid.uuid4().hex}", "origin"))
    try:
        _exec_done(ours, token)
        _exec_done(foreign, os.environ.get(fleet.STACK_ENV))
        spinner = psutil.Process(ours.pid)
        sampler = StackCpu(token)
        sampler.sample()
        before_first = _cpu_s(spinner)
        first = sampler.sample().get("origin", 0.0)
        after_first = _cpu_s(spinner)
        wait_until(lambda: _cpu_s(spinner) > after_first + 0.3, 120, "0.3 s of our spinner's CPU")
        before_second = _cpu_s(spinner)
        second = sampler.sample()
        after_second = _cpu_s(spinner)
    finally:
        _stop(ours, foreign, other_stack)
    counted = second["origin"] - first
    # Kernel counters read between ours: exact bounds, whatever else the machine does.
    assert before_second - after_first - 1e-6 <= counted <= after_second - before_first + 1e-6
    assert set(second) == {"origin"}


#: A marked process starting a spinner with no environment at all (as redis-server's process
#: title overwrites its own).
SPAWN_BARE = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {SPIN!r}], env={{}})"


def test_an_unmarked_child_of_a_stack_process_counts_as_its_part():
    from worker.stack_cpu import StackCpu

    token = f"test-{uuid.uuid4().hex}"
    parent = subprocess.Popen([sys.executable, "-c", SPAWN_BARE], env=_marked(token, "redis"))
    child = None
    try:
        wait_until(lambda: psutil.Process(parent.pid).children(), 30, "the bare child")
        (child,) = psutil.Process(parent.pid).children()
        wait_until(lambda: child.environ() == {} and _cpu_s(child) > 0, 30, "the bare child")
        both = (psutil.Process(parent.pid), child)
        sampler = StackCpu(token)
        sampler.sample()
        sampler.sample()  # a process is judged by its second sighting at the latest
        before_first = sum(_cpu_s(p) for p in both)
        first = sampler.sample().get("redis", 0.0)
        after_first = sum(_cpu_s(p) for p in both)
        wait_until(lambda: _cpu_s(child) > after_first + 0.3, 120, "0.3 s of the child's CPU")
        before_second = sum(_cpu_s(p) for p in both)
        counted = sampler.sample()["redis"] - first
        after_second = sum(_cpu_s(p) for p in both)
    finally:
        if child is not None:
            child.kill()
        _stop(parent)
    assert before_second - after_first - 1e-6 <= counted <= after_second - before_first + 1e-6


# --- the split: what the samples say ---------------------------------------------------------


def _life(name: str, *, stack: str = "", part: str = "") -> fleet.WorkerLife:
    span = WorkerSpan(name, "vm", 0.0, 10.0, 2)
    return fleet.WorkerLife(span, "m1", False, False, 10.0, "vm", stack=stack, part=part)


def _samples(busy: float, own: float, stack: dict[str, float]) -> list[fleet.Sample]:
    zero = fleet.format_sample(0.0, 0.0, 0.0, dict.fromkeys(stack, 0.0))
    end = fleet.format_sample(10.0, busy, own, stack)
    return [s for s in (fleet.parse_sample(zero), fleet.parse_sample(end)) if s is not None]


def test_the_stack_s_own_services_are_not_other_processes():
    """0.9 cores busy over 10 s: the worker 0.2, its supervisor 0.05, the origin 0.4 and Redis
    0.1 (fanout's own); 0.15 cores left for other processes: under the quarter of a core."""
    stack = {"worker": 2.5, "origin": 4.0, "redis": 1.0}
    lives = [_life("w1", stack="T", part="worker")]
    load = hostload.host_load(lives, {"w1": _samples(9.0, 2.0, stack)}, 0.0, 10.0)
    assert load is not None
    assert load["others_cores"] == {"vm": 0.15}
    assert load["own_cores"] == {"vm": {"origin": 0.4, "redis": 0.1, "supervisor": 0.05}}
    assert load["busy"] is False and load["threshold_cores"] == hostload.BUSY_OTHERS_CORES


def test_other_processes_above_a_quarter_of_a_core_make_the_host_busy():
    stack = {"worker": 2.5, "origin": 4.0, "redis": 1.0}
    lives = [_life("w1", stack="T", part="worker")]
    load = hostload.host_load(lives, {"w1": _samples(14.0, 2.0, stack)}, 0.0, 10.0)
    assert load is not None and load["busy"] is True
    assert load["max_others_cores"] == 0.65


def test_a_worker_outside_any_stack_counts_only_its_own_cpu_as_fanout_s():
    lives = [_life("w1")]
    load = hostload.host_load(lives, {"w1": _samples(9.0, 2.0, {})}, 0.0, 10.0)
    assert load is not None and load["others_cores"] == {"vm": 0.7} and load["busy"] is True
    assert load["own_cores"] == {"vm": {}}


# --- one set of words ------------------------------------------------------------------------

BUSY = {
    "others_cores": {"vm": 0.62},
    "max_others_cores": 0.62,
    "own_cores": {"vm": {"redis": 0.2, "origin": 0.15, "web": 0.06}},
    "threshold_cores": 0.25,
    "busy": True,
}


def test_the_page_the_api_and_the_cli_say_the_same_of_a_busy_host():
    own = "fanout's own services used 0.41 cores (redis 0.20, origin 0.15, web 0.06)"
    api = hostnote.with_note(BUSY, comparison=False)
    assert own in api["note"] and "vm 0.62 cores" in api["note"] and "repeat the run" in api["note"]
    assert host_load_note({"host_load": api}) == api["note"]
    assert host_load_note({"host_load": BUSY}) == api["note"]  # a record without the note
    run = {
        "spec": {"strategy": "queue", "concurrency": 1, "workload": "fetch"},
        "total": 1,
        "state": "done",
        "summary": {"counts": {"ok": 1}, "wall_s": 1.0, "ideal_s": 1.0, "efficiency": 1.0,
                    "speedup": 1.0, "peak_concurrency": 1, "throughput_per_s": 1.0,
                    "latency_s": 1.0},
        "host_load": api,
    }  # fmt: skip
    line = summary_lines(run)[-1]
    assert line.startswith("[!] the worker host was busy: other processes used 0.62 cores")
    assert own in line


def test_a_host_busy_with_fanout_s_own_services_alone_gets_no_warning():
    calm = dict(BUSY, others_cores={"vm": 0.02}, max_others_cores=0.02, busy=False)
    assert hostnote.with_note(calm, comparison=False)["note"] == ""
    assert host_load_note({"host_load": calm}) == ""


# --- real runs -------------------------------------------------------------------------------


@pytest.fixture
def marked_fleet(fleet: Fleet) -> tuple[redis_lib.Redis, str]:
    """`fleet` with one supervised worker marked as a stack's. Yields (client, token)."""
    token = f"test-{uuid.uuid4().hex}"
    fleet.env.update({STACK_ENV: token, STACK_PART_ENV: "worker"})
    fleet.start("marked-1")
    wait_until(lambda: len(alive_workers(fleet.client)) == 1, 30, "1 live worker")
    return fleet.client, token


def _final(client: redis_lib.Redis, run_id: str) -> tuple[dict, list[tuple[bool, bool]]]:
    """Read the run as fast as a client can until it is final: (the final record, every
    (provisional, host load missing) seen once its tasks were done)."""
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = load_run(client, run_id, include_tasks=False)
        if record["state"] == "done":
            seen.append((record["provisional"], record["host_load"] is None))
            if not record["provisional"]:
                return record, seen
    raise TimeoutError(f"run {run_id} not final in 60 s")


def test_a_short_run_is_never_final_without_its_host_load(private_fleet, settings, origin_url):
    client, _ = private_fleet
    urls = tuple(f"{origin_url}/delay/0?n={i}" for i in range(5))
    run_id = submit_run(client, fanout_queue(client), RunSpec(urls, Strategy.QUEUE, 2), settings)
    record, seen = _final(client, run_id)
    assert (False, True) not in seen, seen
    assert record["host_load"] is not None


def test_own_services_busy_are_fanout_s_and_a_foreign_burner_is_others(
    marked_fleet, settings, origin_url
):
    client, token = marked_fleet
    ours = _spinner(_marked(token, "origin"))
    foreign = _spinner(dict(os.environ))
    try:
        _exec_done(ours, token)
        _exec_done(foreign, os.environ.get(fleet.STACK_ENV))
        urls = tuple(f"{origin_url}/delay/100?n={i}" for i in range(20))
        spec = RunSpec(urls, Strategy.QUEUE, 1, Workload.FETCH)
        run_id = submit_run(client, fanout_queue(client), spec, settings)
        record, _ = _final(client, run_id)
    finally:
        _stop(ours, foreign)
    load = record["host_load"]
    assert load is not None, record
    (host,) = load["others_cores"]
    own = load["own_cores"][host]
    # The two spinners are the same program, run side by side: the marked one shows as the
    # stack's origin, the unmarked one among other processes (with whatever else ran here).
    assert own.get("origin", 0.0) > 0, load
    assert load["others_cores"][host] >= 0.5 * own["origin"], load
    assert load["busy"] == (load["max_others_cores"] > load["threshold_cores"])
    assert record["host_load"]["note"] == hostnote.with_note(load, comparison=False)["note"]


# --- `fanout up` -----------------------------------------------------------------------------


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str], Path]]:
    """`fanout up --workers 1` on free ports, every part answering. Yields (process, env,
    log)."""
    ports = {name: str(free_port()) for name in ("WEB_PORT", "ORIGIN_PORT", "FANOUT_REDIS_PORT")}
    inherited = ("REDIS_URL", "ORIGIN_URL", "FANOUT_ALLOW_HOSTS", fleet.STACK_ENV)
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(ports, FANOUT_DATA_DIR=str(tmp_path / "data"))
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fanout", "up", "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        client = redis_lib.Redis(port=int(ports["FANOUT_REDIS_PORT"]))

        def ready() -> bool:
            assert proc.poll() is None, log_path.read_text()
            try:
                return len(alive_workers(client)) == 1
            except redis_lib.RedisError:
                return False

        wait_until(ready, 90, "the stack's worker")
        web = f"http://127.0.0.1:{ports['WEB_PORT']}/healthz"
        wait_until(http_ok(web), 60, "the web app")
        yield proc, env, log_path
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_up_marks_its_processes_and_the_cli_reports_a_run_final_with_its_own_services(up):
    proc, env, log_path = up
    root = psutil.Process(proc.pid)
    parts = set()
    for child in root.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            marks = child.environ()
            if child.cmdline() == root.cmdline() or not marks:
                continue  # a fork honcho runs a process from; redis-server's title over it
            assert marks.get(fleet.STACK_ENV) == str(proc.pid), child.cmdline()
            parts.add(marks.get(fleet.STACK_PART_ENV))
    assert parts == {"redis", "origin", "web", "worker", "conductor"}
    result = subprocess.run(
        [sys.executable, "-m", "fanout", "run", "--demo", "-s", "threads", "-c", "20", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + log_path.read_text()
    record = json.loads(result.stdout)
    assert record["provisional"] is False and record["host_load"] is not None, record
    (own,) = record["host_load"]["own_cores"].values()
    assert sum(own.values()) > 0, record["host_load"]
    assert set(own) <= {"redis", "origin", "web", "supervisor", "conductor", "fanout up"}, record[
        "host_load"
    ]
