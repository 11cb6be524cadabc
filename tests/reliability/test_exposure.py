"""What fanout exposes by default: every service listens on loopback only, Flask's debugger is
never on, jobs are JSON (never pickle, which would run code on a worker that loads it), and
FANOUT_API_TOKEN closes the JSON API. The compose stack's exposure is checked in
tests/compose/test_compose_file.py."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import sys
import zlib
from pathlib import Path

import psutil
import requests
from rq.job import Job

from contract import keys
from contract.settings import DEFAULT_REDIS_URL, Settings
from fanout.cli import main as cli
from fanout.redis_server import redis_server_args
from tests.reliability.conftest import figure
from tests.support import Service, free_port, start_service, wait_until
from tests.web.conftest import make_app

#: Variables that would move a listener off its default address.
PLACEMENT = ("WEB_HOST", "ORIGIN_HOST", "REDIS_URL", "WEB_PORT", "ORIGIN_PORT", "ORIGIN_URL")


def test_defaults_are_loopback():
    for settings in (Settings(), Settings.from_env({})):
        assert settings.web_host == "127.0.0.1"
        assert settings.origin_host == "127.0.0.1"
        assert settings.redis_url.startswith("redis://127.0.0.1:")
    assert DEFAULT_REDIS_URL.startswith("redis://127.0.0.1:")
    options = {
        command: {param.name: param.default for param in cli.commands[command].params}
        for command in ("web", "origin")
    }
    assert options["web"]["host"] == "127.0.0.1" and options["origin"]["host"] == "127.0.0.1"
    args = redis_server_args(DEFAULT_REDIS_URL, Path("/nonexistent"))
    assert args[args.index("--bind") + 1] == "127.0.0.1"
    assert args[args.index("--protected-mode") + 1] == "yes"


def _listening(service: Service) -> set[tuple[str, int]]:
    """(ip, port) of every TCP socket the service's process tree listens on."""
    root = psutil.Process(service.proc.pid)
    pids = {root.pid} | {child.pid for child in root.children(recursive=True)}
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids
    }


def test_services_started_with_defaults_listen_on_loopback_only(tmp_path, stack_env):
    env = {k: v for k, v in stack_env.items() if k not in PLACEMENT}
    web_port, origin_port, redis_port = free_port(), free_port(), free_port()
    closed = f"redis://127.0.0.1:{free_port()}/0"  # the web app never needs to reach it here
    services = {
        "web": start_service(
            "exposure-web",
            [sys.executable, "-m", "fanout", "web"],
            tmp_path,
            dict(env, WEB_PORT=str(web_port), REDIS_URL=closed, FANOUT_DATA_DIR=str(tmp_path)),
        ),
        "origin": start_service(
            "exposure-origin",
            [sys.executable, "-m", "fanout", "origin"],
            tmp_path,
            dict(env, ORIGIN_PORT=str(origin_port)),
        ),
        "redis": start_service(
            "exposure-redis",
            [sys.executable, "-m", "fanout", "redis"],
            tmp_path,
            dict(env, FANOUT_REDIS_PORT=str(redis_port), FANOUT_DATA_DIR=str(tmp_path)),
        ),
    }
    ports = {"web": web_port, "origin": origin_port, "redis": redis_port}
    try:
        found = {}
        for name, service in services.items():

            def up(service=service, port=ports[name]) -> set:
                assert service.alive(), service.log()
                listening = _listening(service)
                return listening if port in {p for _, p in listening} else set()

            found[name] = wait_until(up, 30, f"{name} listening")
        for name, listening in found.items():
            for ip, _ in listening:
                assert ipaddress.ip_address(ip).is_loopback, (name, listening)
        figure(
            "exposure: with defaults, "
            + ", ".join(f"{n} listens on {sorted({ip for ip, _ in s})}" for n, s in found.items())
        )
    finally:
        for service in services.values():
            service.stop(timeout_s=10)


def test_flask_debug_and_the_werkzeug_debugger_stay_off(settings, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("FANOUT_DEBUG", "true")
    app = make_app(settings, DEBUG=True, PROPAGATE_EXCEPTIONS=False, TESTING=False)
    assert app.debug is False

    def boom():
        raise RuntimeError("secret detail")

    app.add_url_rule("/boom", "boom", boom)
    client = app.test_client()
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    for leak in ("Traceback", "secret detail", "Werkzeug Debugger", "__debugger__"):
        assert leak not in body
    console = client.get("/console")
    assert console.status_code == 404 and "Werkzeug" not in console.get_data(as_text=True)
    resource = client.get("/?__debugger__=yes&cmd=resource&f=debugger.js")
    assert "application/javascript" not in resource.headers.get("Content-Type", "")


def test_jobs_are_stored_as_json_never_pickle(private_stack, settings, origin_url):
    stack = private_stack()
    app = make_app(dataclasses.replace(settings, redis_url=stack.redis.url))
    body = {"urls": [f"{origin_url}/delay/0"], "strategy": "queue"}
    run_id = app.test_client().post("/api/runs", json=body).get_json()["id"]
    job_key = Job.key_for(keys.job_id(run_id, 0))
    raw = stack.client.hget(job_key, "data")
    data = zlib.decompress(raw)
    assert not data.startswith(b"\x80"), "pickle protocol 2+ marker"
    decoded = json.loads(data)
    assert run_id in json.dumps(decoded)
    assert decoded[0] == "worker.jobs.run_tasks"
    figure(f"exposure: {job_key} data is JSON: {data[:70].decode()}...")


def test_api_token_closes_the_api_on_the_real_server(private_stack, origin_url):
    """The Flask-level checks are tests/web/test_api.py::test_api_token_is_required_when_set and
    ::test_a_browser_that_loaded_a_page_may_read_but_not_submit; this is gunicorn's answer."""
    stack = private_stack()
    web = stack.add_web(processes=1, FANOUT_API_TOKEN="t0ken-for-tests")
    body = {"urls": [f"{origin_url}/delay/0"], "strategy": "threads"}
    assert requests.post(f"{web.url}/api/runs", json=body, timeout=10).status_code == 401
    assert requests.get(f"{web.url}/api/runs", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(f"{web.url}/api/runs", headers=wrong, timeout=10).status_code == 401
    good = {"Authorization": "Bearer t0ken-for-tests"}
    assert (
        requests.post(f"{web.url}/api/runs", json=body, headers=good, timeout=10).status_code == 202
    )
    assert requests.get(f"{web.url}/healthz", timeout=10).status_code == 200
