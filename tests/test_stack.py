"""`fanout up` (what `make up` runs): every process starts, a run goes through, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
import redis as redis_lib
import requests

from tests.support import alive_workers, free_port, start_up, wait_until


@pytest.fixture
def stack(tmp_path):
    ports = {name: str(free_port()) for name in ("WEB_PORT", "ORIGIN_PORT", "FANOUT_REDIS_PORT")}
    inherited = ("REDIS_URL", "ORIGIN_URL", "FANOUT_ALLOW_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(ports, FANOUT_DATA_DIR=str(tmp_path / "data"))
    proc = start_up(env, tmp_path / "up.log")
    yield proc, env, ports, tmp_path / "up.log"
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_up_starts_the_stack_and_ctrl_c_leaves_no_process(stack):
    proc, env, ports, log_path = stack
    client = redis_lib.Redis(port=int(ports["FANOUT_REDIS_PORT"]))

    def redis_up():
        try:
            return client.ping()
        except redis_lib.RedisError:
            assert proc.poll() is None, log_path.read_text()
            return False

    wait_until(redis_up, 60, "the embedded redis-server")
    wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 workers")
    origin = f"http://127.0.0.1:{ports['ORIGIN_PORT']}"
    wait_until(lambda: requests.get(f"{origin}/healthz", timeout=1).ok, 30, "the origin")
    web = f"http://127.0.0.1:{ports['WEB_PORT']}/"

    def web_up():
        try:
            return requests.get(web, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(web_up, 60, "the web app")
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 5

    result = subprocess.run(
        [sys.executable, "-m", "fanout", "run", "--demo", "-s", "threads", "-c", "20"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[+] 127.0.0.1 [") == 40

    proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert proc.wait(timeout=30) is not None
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], [p.cmdline() for p in alive]


def _stopped_order(log_text: str) -> list[str]:
    """Process kinds in the order honcho reported them stopped."""
    order = []
    for line in log_text.splitlines():
        if " stopped (rc=" in line:
            name = line.split("|", 1)[-1].strip().split(" stopped", 1)[0]
            order.append(name.rsplit(".", 1)[0])
    return order


def test_ctrl_c_mid_run_stops_workers_first_and_loses_nothing(stack, tmp_path):
    """SIGINT during a run: workers stop first (the task in hand ends), then web and origin,
    then Redis; after a restart the run completes with no task failed by the stop, and the
    Workers page lists the old workers as gone, never busy."""
    from contract import keys
    from contract.records import RunSpec
    from contract.settings import Settings
    from contract.states import Strategy
    from producer.connection import fanout_queue
    from producer.submit import submit_run
    from producer.wait import wait_for_run
    from producer.workers import workers_overview

    proc, env, ports, log_path = stack
    client = redis_lib.Redis(port=int(ports["FANOUT_REDIS_PORT"]))
    wait_until(lambda: _ping(client, proc, log_path), 60, "the embedded redis-server")
    wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 workers")
    settings = Settings.from_env(env)
    origin = f"http://127.0.0.1:{ports['ORIGIN_PORT']}"
    urls = tuple(f"{origin}/delay/1500?n={i}" for i in range(6))
    run_id = submit_run(client, fanout_queue(client), RunSpec(urls, Strategy.QUEUE), settings)
    wait_until(lambda: client.hlen(keys.running_key(run_id)) >= 2, 30, "tasks running")
    old_workers = alive_workers(client)

    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    text = log_path.read_text(errors="replace")
    order = _stopped_order(text)
    assert order.index("redis") == len(order) - 1, order
    assert max(i for i, kind in enumerate(order) if kind == "worker") < min(
        i for i, kind in enumerate(order) if kind in ("web", "origin")
    ), order
    assert "Traceback" not in text, text[-4000:]
    assert "SIGKILL" not in text, text[-4000:]

    again = start_up(env, tmp_path / "up2.log")
    try:
        wait_until(lambda: _ping(client, again, tmp_path / "up2.log"), 60, "redis again")
        record = wait_for_run(client, run_id, timeout_s=120)
        assert record["counts"]["ok"] == len(urls), [t.get("error") for t in record["tasks"]]
        assert all(task["attempt"] == 1 for task in record["tasks"])
        wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 new workers")
        overview = workers_overview(client, fanout_queue(client))
        listed = {row["name"]: row for row in overview["workers"]}
        assert not old_workers & set(listed), "stopped workers still registered in RQ"
        assert old_workers <= {row["name"] for row in overview["gone"]}
        assert all(row["alive"] for row in overview["workers"])
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=120)


def _ping(client, proc, log_path) -> bool:
    try:
        return bool(client.ping())
    except redis_lib.RedisError:
        assert proc.poll() is None, log_path.read_text()
        return False


def _lines_after(text: str, marker: str) -> list[str]:
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if marker in line)
    return lines[first + 1 :]


def test_ctrl_c_says_what_it_waits_for_once_and_a_second_one_stops_truthfully(stack):
    """The first Ctrl-C says in one line what the stop waits for and that a second Ctrl-C stops
    at once; RQ's "Waiting for workers" is not repeated every second; after the second Ctrl-C no
    process is said to have outlasted its grace, and nothing is sent SIGTERM after the kill."""
    from contract import keys
    from contract.records import RunSpec
    from contract.settings import Settings
    from contract.states import Strategy
    from producer.connection import fanout_queue
    from producer.submit import submit_run

    proc, env, ports, log_path = stack
    client = redis_lib.Redis(port=int(ports["FANOUT_REDIS_PORT"]))
    wait_until(lambda: _ping(client, proc, log_path), 60, "the embedded redis-server")
    wait_until(lambda: len(alive_workers(client)) == 2, 60, "2 workers")
    settings = Settings.from_env(env)
    origin = f"http://127.0.0.1:{ports['ORIGIN_PORT']}"
    urls = tuple(f"{origin}/delay/9000?n={i}" for i in range(2))
    run_id = submit_run(client, fanout_queue(client), RunSpec(urls, Strategy.QUEUE), settings)
    wait_until(lambda: client.hlen(keys.running_key(run_id)) >= 2, 30, "tasks running")

    proc.send_signal(signal.SIGINT)
    announced = wait_until(
        lambda: [line for line in log_path.read_text().splitlines() if "SIGINT received" in line],
        10,
        "the stop's announcement",
    )
    assert len(announced) == 1, announced
    assert "2 jobs in hand" in announced[0] and "up to 90 s" in announced[0], announced
    assert "Ctrl-C again" in announced[0], announced
    wait_until(lambda: "Waiting for" in log_path.read_text(), 10, "the supervisor waiting")
    time.sleep(4)
    waiting = [line for line in log_path.read_text().splitlines() if "aiting for" in line]
    assert len(waiting) == 1, waiting

    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    after = _lines_after(log_path.read_text(errors="replace"), "stopping now")
    assert not [line for line in after if "sending SIGTERM" in line or "did not stop" in line], (
        after
    )
