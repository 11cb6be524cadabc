"""`fanout ps`: each host's process tree as its supervisor publishes it, checked against the real
processes (psutil) of real supervisors on a private Redis."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis as redis_lib

from tests.support import Service, alive_workers, free_port, start_redis, start_worker, wait_until
from tests.test_cli import fanout

#: One process line of `fanout ps`: pid, ppid, role, state, %cpu, threads, RSS, command.
LINE = re.compile(
    r"^\s*(?P<pid>\d+)\s+(?P<ppid>\d+)\s+(?P<role>\w+)\s+(?P<state>\S+)\s+(?P<cpu>[\d.]+)\s+"
    r"(?P<threads>\d+)\s+(?P<rss>[\d,.]+) MiB  (?P<command>.*)$"
)


@pytest.fixture
def fleet(stack_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[dict, list[Service]]]:
    """A Redis of the test's own and two supervisors of one worker each on it (hosts `name` and
    `name/2`): the session's workers would add their trees. Yields (env, supervisors)."""
    redis = start_redis(tmp_path)
    env = dict(stack_env, REDIS_URL=redis.url)
    started = [start_worker(tmp_path, env, name=f"ps-{n}") for n in (1, 2)]
    try:
        client = redis_lib.Redis.from_url(redis.url)
        wait_until(lambda: len(alive_workers(client)) == 2, 30, "2 live workers")
        yield env, started
    finally:
        for supervisor in started:
            supervisor.stop()
        redis.stop()


def ps_rows(env: dict[str, str]) -> tuple[str, list[dict[str, str]]]:
    result = fanout("ps", env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    rows = [m.groupdict() for m in map(LINE.match, result.stdout.splitlines()) if m]
    return result.stdout, rows


def children_of(rows: list[dict[str, str]], pid: int, role: str, state: str) -> set[int]:
    return {
        int(r["pid"])
        for r in rows
        if r["ppid"] == str(pid) and r["role"] == role and r["state"] == state
    }


def test_ps_draws_each_supervisor_over_its_real_workers(fleet):
    env, supervisors = fleet

    def both_hosts():
        out, rows = ps_rows(env)
        idle = [r for r in rows if r["role"] == "worker" and r["state"] == "idle"]
        return (out, rows) if len(idle) == 2 else None

    out, rows = wait_until(both_hosts, 30, "both idle workers in `fanout ps`", poll_s=0.5)
    assert len(re.findall(r"^host \S+( on \S+)?: 1 worker, \d+ child", out, re.M)) == 2, out
    for supervisor in supervisors:
        real = psutil.Process(supervisor.pid)
        top = next(r for r in rows if r["pid"] == str(supervisor.pid))
        assert top["role"] == "supervisor" and "fanout worker --pool 1" in top["command"]
        workers = [r for r in rows if r["ppid"] == str(supervisor.pid)]
        assert [int(r["pid"]) for r in workers] == [c.pid for c in real.children()]
        assert workers[0]["role"] == "worker" and workers[0]["state"] == "idle"
        assert re.fullmatch(r" \\_ worker [0-9a-f]{8}", workers[0]["command"])
        assert int(workers[0]["threads"]) >= 2  # the worker and its heartbeat thread
        assert float(workers[0]["rss"].replace(",", "")) > 1

    supervisors[0].stop()  # a clean stop: the host leaves the live hosts, and the tree with it
    wait_until(lambda: str(supervisors[0].pid) not in ps_rows(env)[0], 15, "the stopped host gone")
    assert str(supervisors[1].pid) in ps_rows(env)[0]


def test_ps_shows_a_processes_runs_children_then_keeps_them_idle(fleet):
    env, _ = fleet
    urls = [f"{env['ORIGIN_URL']}/delay/2500?n={i}" for i in range(8)]
    run = subprocess.Popen(
        [sys.executable, "-m", "fanout", "run", "-s", "processes", "-c", "4", *urls],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def busy_children():
            _, rows = ps_rows(env)
            for worker in (r for r in rows if r["role"] == "worker" and r["state"] == "busy"):
                found = children_of(rows, int(worker["pid"]), "child", "busy")
                if len(found) >= 4:
                    return int(worker["pid"]), found
            return None

        worker_pid, children = wait_until(busy_children, 60, "4 busy pool children", poll_s=0.3)
        real = {c.pid for c in psutil.Process(worker_pid).children()}
        assert children <= real  # real processes, forked by that worker
        assert run.wait(timeout=90) == 0
    finally:
        if run.poll() is None:
            run.kill()
    # The pool outlives its job (worker.pools keeps it while its size fits): the same children,
    # idle, under an idle worker, and the output says why.

    def idle_children():
        out, rows = ps_rows(env)
        return (out, rows) if children_of(rows, worker_pid, "child", "idle") else None

    out, rows = wait_until(idle_children, 15, "the children idle", poll_s=0.3)
    assert children_of(rows, worker_pid, "child", "idle") == children
    assert children_of(rows, worker_pid, "child", "busy") == set()
    assert "idle, they wait for the next one" in out


def test_ps_json_is_the_published_snapshots(fleet):
    env, supervisors = fleet

    def two():
        result = fanout("ps", "--json", env=env, timeout=30)
        assert result.returncode == 0, result.stderr
        trees = json.loads(result.stdout)
        return trees if len(trees["hosts"]) == 2 else None

    trees = wait_until(two, 30, "two trees", poll_s=0.5)
    pids = {tree["processes"][0]["pid"] for tree in trees["hosts"]}
    assert pids == {s.pid for s in supervisors}
    for tree in trees["hosts"]:
        assert tree["cost_ms"] >= 0 and tree["at"] <= trees["now"] + 1
        for process in tree["processes"]:
            assert set(process) >= {"pid", "ppid", "role", "state", "threads", "rss", "cpu"}


def test_ps_refuses_a_bad_interval_and_says_when_redis_is_down(stack_env):
    bad = fanout("ps", "--watch", "--interval", "0", env=stack_env, timeout=30)
    assert bad.returncode == 2 and "--interval" in bad.stderr and "Traceback" not in bad.stderr
    down = dict(stack_env, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result = fanout("ps", env=down, timeout=30)
    assert result.returncode == 1 and "unreachable" in result.stderr
    assert "Traceback" not in result.stderr


def test_ps_watch_redraws_until_ctrl_c(fleet):
    env, _ = fleet
    watch = subprocess.Popen(
        [sys.executable, "-m", "fanout", "ps", "--watch", "--interval", "0.5"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        drawn = 0
        while drawn < 3:  # three drawings: a column header each (a host each)
            line = watch.stdout.readline()
            assert line, watch.stderr.read()
            drawn += line.startswith("     PID ")
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=15) == 0
        assert "Traceback" not in watch.stderr.read()
    finally:
        if watch.poll() is None:
            watch.kill()
