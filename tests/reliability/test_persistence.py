"""A Redis without persistence is said plainly, and workers stop writing into the void.

fanout's own Redis (embedded and compose) keeps an append-only file, but a user's REDIS_URL may
not: a restart of such a Redis deletes every run, queued job and worker registration. fanout
reads the settings (`CONFIG GET appendonly` / `save`), shows the verdict in /healthz, on the
Workers page and in `fanout up`, and a worker whose run record vanished stops that run's tasks
and logs why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis as redis_lib

from contract import keys
from contract.persistence import Durability, read_persistence
from contract.settings import Settings
from fanout.redis_check import persistence_line
from producer.connection import connect, fanout_queue
from producer.submit import submit_run
from producer.validation import build_spec
from tests.reliability.conftest import figure
from tests.support import Service, start_redis, start_worker, wait_until
from tests.web.conftest import make_app

NO_PERSISTENCE = ("--appendonly", "no", "--save", "")
SNAPSHOTS_ONLY = ("--appendonly", "no", "--save", "3600 1")
NO_CONFIG = ("--rename-command", "CONFIG", "")


@pytest.fixture
def redis_kinds(tmp_path: Path) -> Iterator[dict[str, Service]]:
    started = {
        "aof": start_redis(tmp_path),
        "none": start_redis(tmp_path, extra_args=NO_PERSISTENCE),
        "snapshots": start_redis(tmp_path, extra_args=SNAPSHOTS_ONLY),
        "no-config": start_redis(tmp_path, extra_args=NO_CONFIG),
    }
    yield started
    for service in started.values():
        service.stop()


def test_persistence_is_read_and_said_plainly_everywhere(redis_kinds, settings):
    expected = {
        "aof": Durability.AOF,
        "none": Durability.NONE,
        "snapshots": Durability.SNAPSHOTS,
        "no-config": Durability.UNKNOWN,
    }
    for kind, service in redis_kinds.items():
        persistence = read_persistence(redis_lib.Redis.from_url(service.url))
        assert persistence.durability is expected[kind], kind
        app_settings = dataclasses.replace(settings, redis_url=service.url)
        client = make_app(app_settings).test_client()
        health = client.get("/healthz")
        assert health.status_code == 200
        details = health.json["persistence"]
        assert details["durability"] == expected[kind].value, kind
        assert details["loses_queued_work_on_restart"] is persistence.loses_queued_work, kind
        page = client.get("/workers").get_data(as_text=True)
        line = persistence_line(app_settings)
        figure(f"persistence ({kind}): {line}")
        if kind == "aof":
            assert "data-persistence-warning" not in page
            assert "survives a restart" in line
        else:
            assert "data-persistence-warning" in page, kind
            assert persistence.message in page
            assert persistence.message in line
            assert ("loses" if kind != "no-config" else "unknown") in persistence.message


def test_the_embedded_redis_is_reported_as_durable_without_asking_it(settings):
    embedded = dataclasses.replace(
        settings, redis_url="redis://127.0.0.1:6380/0", redis_url_is_default=True
    )
    assert "append-only file" in persistence_line(embedded)


class _Counter(BaseHTTPRequestHandler):
    hits = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with _Counter.lock:
            _Counter.hits += 1
        time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def counting_origin() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    _Counter.hits = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


TASKS = 30


@pytest.mark.timeout(120)
def test_a_worker_stops_the_tasks_of_a_run_whose_record_vanished(tmp_path, stack_env):
    """Redis without persistence restarted mid-run: the worker's next write finds no run
    record, so it stops the run's remaining tasks and says why in its log."""
    redis_service = start_redis(tmp_path, extra_args=NO_PERSISTENCE)
    port = int(redis_service.url.rsplit(":", 1)[1].split("/")[0])
    worker: Service | None = None
    with counting_origin() as origin:
        origin_port = origin.server_address[1]
        env = dict(
            stack_env,
            REDIS_URL=redis_service.url,
            FANOUT_ALLOW_HOSTS=f"127.0.0.1:{origin_port}",
        )
        try:
            worker = start_worker(tmp_path, env, name="worker-void")
            settings = Settings.from_env(env)
            redis = connect(settings)
            alive = keys.alive_workers_key()
            wait_until(lambda: redis.zcard(alive) >= 1, 30, "the worker's heartbeat")
            urls = [f"http://127.0.0.1:{origin_port}/t{n}" for n in range(TASKS)]
            spec = build_spec({"urls": urls, "strategy": "sequential"}, settings)
            submit_run(redis, fanout_queue(redis), spec, settings)
            wait_until(lambda: _Counter.hits >= 2, 30, "two tasks fetched")
            redis_service.signal_group(signal.SIGKILL)
            redis_service.proc.wait(timeout=10)
            redis_service = start_redis(tmp_path, port=port, extra_args=NO_PERSISTENCE)
            wait_until(lambda: "record is gone" in worker.log(), 30, "the worker to notice")
            _wait_quiet(1.5)
            figure(f"run record vanished: the worker fetched {_Counter.hits} of {TASKS} URLs")
            assert _Counter.hits < TASKS
            assert "Redis restarted without persistence, or the run expired" in worker.log()
        finally:
            if worker is not None:
                worker.stop()
            redis_service.stop()


def _wait_quiet(quiet_s: float) -> None:
    """Until the origin has seen no request for `quiet_s` (a sequential run hits it every
    0.2 s), bounded by the test's timeout."""
    last, since = _Counter.hits, time.monotonic()
    while time.monotonic() - since < quiet_s:
        time.sleep(0.1)
        if _Counter.hits != last:
            last, since = _Counter.hits, time.monotonic()
