"""`fanout up` (what `make up` runs): every process starts, a run goes through, Ctrl-C stops all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
import redis as redis_lib
import requests

from tests.support import alive_workers, free_port, wait_until


@pytest.fixture
def stack(tmp_path):
    ports = {name: str(free_port()) for name in ("WEB_PORT", "ORIGIN_PORT", "FANOUT_REDIS_PORT")}
    inherited = ("REDIS_URL", "ORIGIN_URL", "FANOUT_ALLOW_HOSTS")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    env.update(ports, FANOUT_DATA_DIR=str(tmp_path / "data"))
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanout", "up", "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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
