"""The real compose stack: built, started, scaled up and down under load, torn down.

Runs docker-compose.yml on the network a user's Docker gives it (a private engine started in
bridge mode: the file's own bridge network, service-name DNS, one hostname and address per
container), with docker-compose.test.yml changing only the published ports and the build
network (docs/compose.md, "What the test override changes"). `make test-compose` runs it; plain
`make test` deselects the `compose` marker.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shlex
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.compose.conftest import COMPOSE_FILE, ROOT, SHARED, TEST_OVERRIDE, clean_env

pytestmark = [pytest.mark.compose, pytest.mark.timeout(900)]

ENGINE = SHARED / "compose-engine" / "compose-engine"
#: Not "fanout": a developer's own `docker compose up` (and its Redis volume) stays untouched.
PROJECT = "fanout-ci"
#: The loopback ports docker-compose.test.yml publishes.
WEB_PORT, MONITOR_PORT = 18000, 19181
WEB = f"http://127.0.0.1:{WEB_PORT}"
#: How the workers reach the origin: by its service name, on the compose network.
ORIGIN = "http://origin:8081"
LOG = ROOT / "test-artifacts" / "compose-stack.log"


def _engine(*args: str, timeout_s: float = 600) -> str:
    done = subprocess.run(
        ["bash", str(ENGINE), *args], capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        pytest.fail(f"compose-engine {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _exports(text: str) -> dict[str, str]:
    """`export A=1 B=2` (what `compose-engine start` prints) as a mapping."""
    words = shlex.split(text)
    return dict(word.split("=", 1) for word in words if "=" in word)


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    env: dict[str, str]
    redis_password: str
    http: requests.Session

    def compose(self, *args: str, timeout_s: float = 600) -> str:
        files = ["-f", str(COMPOSE_FILE), "-f", str(TEST_OVERRIDE)]
        cmd = ["docker", "compose", "-p", PROJECT, *files]
        done = subprocess.run(
            [*cmd, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout_s
        )
        assert done.returncode == 0, f"docker compose {' '.join(args)}:\n{done.stderr[-3000:]}"
        return done.stdout

    def docker(self, *args: str) -> str:
        done = subprocess.run(["docker", *args], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def scale_workers(self, n: int) -> float:
        """Seconds `up --scale` took: scaling down waits for the stopped workers to exit."""
        started = time.monotonic()
        self.compose("up", "-d", "--no-recreate", "--wait", "--scale", f"worker={n}")
        self.wait_for(lambda: self.get("/api/workers")["live"] == n, 60, f"{n} live workers")
        return time.monotonic() - started

    def get(self, path: str) -> dict:
        response = self.http.get(WEB + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def submit(self, urls: list[str]) -> str:
        body = {"urls": urls, "strategy": "queue", "concurrency": 1, "workload": "fetch"}
        response = self.http.post(WEB + "/api/runs", json=body, timeout=10)
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def progress(self, run_id: str) -> dict:
        return self.get(f"/api/runs/{run_id}?tasks=0")

    def wait_done(self, run_id: str, timeout_s: float) -> dict:
        self.wait_for(lambda: self.progress(run_id)["state"] == "done", timeout_s, "run done")
        return self.get(f"/api/runs/{run_id}")

    @staticmethod
    def wait_for(predicate, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
            time.sleep(0.25)


@contextlib.contextmanager
def _exclusive(timeout_s: float = 600) -> Iterator[None]:
    """One stack test per machine at a time: two would scale and tear down each other's stack."""
    engine_dir = Path(os.environ.get("COMPOSE_ENGINE_DIR", "/tmp/compose-engine"))
    engine_dir.mkdir(parents=True, exist_ok=True)
    with open(engine_dir / f"{PROJECT}.lock", "w") as lock:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another compose stack test still runs after {timeout_s} s")
                time.sleep(1)
        yield  # the lock goes with the file


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not ENGINE.is_file():
        pytest.fail(f"{ENGINE} is missing: shared/ must sit beside the clone")
    with _exclusive():
        yield from _stack()


def _stack() -> Iterator[Stack]:
    # An engine someone else started is theirs: leave it running afterwards.
    probe = ["docker", "info"]
    env = clean_env(**_exports(_engine("env")))
    already_running = subprocess.run(probe, env=env, capture_output=True).returncode == 0
    engine_env = _exports(_engine("start", "--bridge"))
    password = secrets.token_hex(12)
    # No proxies: everything here is on loopback, and the build reaches PyPI as the host does.
    env = clean_env(**engine_env, REDIS_PASSWORD=password)
    env = {k: v for k, v in env.items() if not k.lower().endswith("_proxy")}
    http = requests.Session()
    http.trust_env = False
    stack = Stack(env=env, redis_password=password, http=http)
    try:
        _engine("standin", "python:3.11-slim", "redis:7")
        stack.compose("down", "-v", "--remove-orphans")  # what an interrupted run left behind
        taken = [p for p in (WEB_PORT, MONITOR_PORT) if _port_taken(p)]
        if taken:
            pytest.fail(f"loopback ports {taken} are taken; the test override publishes on them")
        # The engine's classic builder would run web's, worker's and origin's identical builds
        # side by side, each installing every dependency; one build first lets the others reuse it.
        stack.compose("build", "web")
        stack.compose("up", "-d", "--build", "--wait", "--wait-timeout", "300")
        yield stack
    finally:
        with contextlib.suppress(Exception):
            LOG.parent.mkdir(exist_ok=True)
            LOG.write_text(stack.compose("--profile", "monitor", "logs", "--no-color"))
        with contextlib.suppress(Exception):
            stack.compose("--profile", "monitor", "down", "-v", "--remove-orphans")
            stack.docker("image", "prune", "-f")  # each rebuild leaves the last image dangling
        if not already_running:
            _engine("stop")


def test_only_web_is_published_and_only_on_loopback(stack):
    published = {}
    for line in stack.compose("--profile", "monitor", "ps", "--format", "json").splitlines():
        container = json.loads(line)
        for publisher in container.get("Publishers") or []:
            if publisher.get("PublishedPort"):
                published.setdefault(container["Service"], set()).add(publisher["URL"])
    assert set(published) <= {"web", "monitor"}, published
    assert "web" in published
    assert all(url == "127.0.0.1" for urls in published.values() for url in urls), published


def test_redis_asks_for_the_password_and_keeps_an_append_only_file(stack):
    def cli(*args: str, auth: bool = True) -> str:
        env = ["-e", f"REDISCLI_AUTH={stack.redis_password if auth else ''}"]
        return stack.compose("exec", "-T", *env, "redis", "redis-cli", *args).strip()

    assert "NOAUTH" in cli("ping", auth=False)
    assert cli("config", "get", "appendonly").split() == ["appendonly", "yes"]
    assert cli("config", "get", "appendfsync").split() == ["appendfsync", "everysec"]
    assert cli("config", "get", "maxmemory-policy").split() == ["maxmemory-policy", "noeviction"]
    assert stack.get("/healthz")["persistence"]["loses_queued_work_on_restart"] is False


def test_the_origin_is_reached_by_name_and_every_other_service_is_refused(stack):
    worker = stack.compose("ps", "-q", "worker").split()[0]
    worker_ip = stack.docker(
        "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", worker
    ).strip()
    urls = [
        f"{ORIGIN}/bytes/10",
        "http://redis:6379/",
        "http://web:8000/healthz",
        f"http://{worker_ip}:8081/",
    ]
    response = stack.http.post(
        WEB + "/api/runs", json={"urls": urls, "strategy": "threads", "concurrency": 4}, timeout=10
    )
    assert response.status_code == 202, response.text
    run = stack.wait_done(response.json()["id"], timeout_s=60)
    states = {task["url"]: task["state"] for task in run["tasks"]}
    assert states[urls[0]] == "ok", run["tasks"]
    assert all(states[url] == "refused" for url in urls[1:]), run["tasks"]


def test_queue_run_spreads_over_three_workers(stack):
    stack.scale_workers(3)
    run_id = stack.submit([f"{ORIGIN}/delay/200?n={i}" for i in range(30)])
    run = stack.wait_done(run_id, timeout_s=120)
    tasks = run["tasks"]
    assert len(tasks) == 30
    assert {task["state"] for task in tasks} == {"ok"}, run["counts"]
    assert len({task["worker"] for task in tasks}) == 3
    # One hostname per container: the timeline's lanes name three distinct hosts.
    assert len({task["host"] for task in tasks}) == 3


def test_scaling_down_mid_run_loses_no_task(stack):
    stack.scale_workers(3)
    run_id = stack.submit([f"{ORIGIN}/delay/200?n={i}" for i in range(150)])
    stack.wait_for(lambda: stack.progress(run_id)["done"] >= 20, 60, "20 tasks done")

    scale_down_s = stack.scale_workers(1)
    done_then = stack.progress(run_id)["done"]

    run = stack.wait_done(run_id, timeout_s=180)
    tasks = run["tasks"]
    assert done_then < 150, "the run ended before the scale-down: make it longer"
    assert sorted(task["index"] for task in tasks) == list(range(150))
    assert {task["state"] for task in tasks} == {"ok"}, run["counts"]
    assert run["counts"]["lost"] == 0
    # SIGTERM reached the workers, which finished the job in hand and exited: nothing was
    # killed and retried, and Docker never had to wait out stop_grace_period.
    assert {task["attempt"] for task in tasks} == {1}
    assert scale_down_s < 30, f"scaling down took {scale_down_s:.0f} s: SIGTERM went unheard?"
    assert len({task["worker"] for task in tasks}) == 3


def test_monitor_profile_shows_the_fanout_queue(stack):
    stack.compose("--profile", "monitor", "up", "-d", "--build", "--wait", "monitor")
    url = f"http://127.0.0.1:{MONITOR_PORT}"
    assert stack.http.get(url + "/", timeout=10).status_code == 200
    queues = stack.http.get(url + "/0/data/queues.json", timeout=10).json()["queues"]
    assert "fanout" in {queue["name"] for queue in queues}
    workers = stack.http.get(url + "/0/data/workers.json", timeout=10).json()["workers"]
    assert len(workers) >= 1


def test_changing_the_per_host_target_mid_run_loses_no_task(stack):
    stack.scale_workers(2)  # two hosts
    _put_target(stack, {"per_host": 2})
    stack.wait_for(lambda: stack.get("/api/workers")["live"] == 4, 60, "2 hosts x 2 workers")
    run_id = stack.submit([f"{ORIGIN}/delay/200?n={i}" for i in range(120)])
    stack.wait_for(lambda: stack.progress(run_id)["done"] >= 20, 60, "20 tasks done")
    _put_target(stack, {"per_host": 1})
    stack.wait_for(lambda: stack.get("/api/workers")["live"] == 2, 60, "1 worker per host")
    run = stack.wait_done(run_id, timeout_s=180)
    tasks = run["tasks"]
    assert sorted(task["index"] for task in tasks) == list(range(120))
    assert {task["state"] for task in tasks} == {"ok"}, run["counts"]
    assert {task["attempt"] for task in tasks} == {1}  # retired warm: nothing re-run
    assert len({task["worker"] for task in tasks}) == 4
    assert len({task["host"] for task in tasks}) == 2


def test_a_sweep_over_one_to_four_workers_runs_end_to_end(stack):
    stack.scale_workers(2)
    _put_target(stack, {"per_host": 1})
    urls = [f"{ORIGIN}/delay/100?n={i}" for i in range(24)]
    body = {"urls": urls, "strategy": "queue", "workers": [1, 2, 3, 4]}
    response = stack.http.post(WEB + "/api/sweeps", json=body, timeout=10)
    assert response.status_code == 202, response.text
    sweep_id = response.json()["id"]

    def ended() -> bool:
        return stack.get(f"/api/sweeps/{sweep_id}")["state"] in ("done", "failed")

    stack.wait_for(ended, 300, "the sweep to end")
    sweep = stack.get(f"/api/sweeps/{sweep_id}")
    assert sweep["state"] == "done", sweep.get("error")
    assert [point["workers"] for point in sweep["points"]] == [1, 2, 3, 4]
    assert all(0 < point["efficiency"] <= 1.0001 for point in sweep["points"])
    usable = [point for point in sweep["points"] if not point["marks"]]
    assert (sweep["fit"] is not None) == (len(usable) >= 4), sweep  # a fit needs four points
    assert stack.get("/api/workers/target")["target"] == {"mode": "per_host", "n": 1}  # put back


def _put_target(stack: Stack, body: dict) -> None:
    response = stack.http.put(WEB + "/api/workers/target", json=body, timeout=10)
    assert response.status_code == 200, response.text


def test_slow_clients_do_not_freeze_the_web_tier_in_compose(stack):
    """The same slow-client load as the local stack's test, through Docker's published port.

    Here the default submit limit holds (60 runs per second per client), and the 64 dribblers' POSTs
    count against it: behind the published port every client is the bridge's gateway address, and
    through docker-proxy on a loaded machine their headers can reach the app after the settle
    second. So a probe that is told 429 comes back after Retry-After. Every answer, 429 or 202,
    is timed: the claim is that the web tier answers, and that each probe's submission is taken.
    """
    from tests.reliability.test_slow_clients import ANSWER_WITHIN_S, slow_clients

    body = {"urls": [f"{ORIGIN}/delay/0"], "strategy": "sequential"}
    health_s, submit_s = [], []
    with slow_clients(WEB):
        for _ in range(3):
            started = time.monotonic()
            assert stack.http.get(WEB + "/healthz", timeout=3).status_code == 200
            health_s.append(time.monotonic() - started)
            for _attempt in range(10):
                started = time.monotonic()
                response = stack.http.post(WEB + "/api/runs", json=body, timeout=3)
                submit_s.append(time.monotonic() - started)
                if response.status_code != 429:
                    break
                time.sleep(float(response.headers["Retry-After"]))
            assert response.status_code == 202, response.text
            time.sleep(0.5)  # well under the default submit rate limit
    assert max(health_s) < ANSWER_WITHIN_S, health_s
    assert max(submit_s) < ANSWER_WITHIN_S, submit_s
