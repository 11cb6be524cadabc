"""Fixtures of the web tests: Flask apps on the session Redis (and on a closed port), a real
gunicorn serving `fanout web`, and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from rq import Worker
from rq.serializers import JSONSerializer

from contract import keys
from contract.settings import Settings
from producer.connection import fanout_queue
from tests.conftest import ARTIFACTS
from tests.support import Service, free_port, start_web
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
DONE_TIMEOUT_MS = 90_000
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

#: Collects Content-Security-Policy violations in window.__csp, for the browser tests to read.
CSP_WATCH_SCRIPT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def make_app(settings: Settings, **config: object) -> Flask:
    """An app on `settings`; submissions unlimited unless `RATE_LIMIT_SUBMIT` is passed (the
    suite submits in bursts from one address)."""
    base = {"SETTINGS": settings, "SECRET_KEY": "test-secret", "TESTING": True}
    return create_app(base | {"RATE_LIMIT_SUBMIT": "off"} | config)


@pytest.fixture(scope="session")
def app(settings: Settings) -> Flask:
    return make_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def down_app(settings: Settings) -> Flask:
    """An app whose Redis is a closed port on loopback: every Redis call fails at once."""
    closed = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    return make_app(closed)


@pytest.fixture
def token_client(settings: Settings) -> FlaskClient:
    return make_app(dataclasses.replace(settings, api_token="s3cret-token")).test_client()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


@pytest.fixture(scope="session")
def web_server(
    service_logs: Path, stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """`fanout web` (gunicorn, 2 gevent processes) on a free loopback port."""
    service = start_web(service_logs, stack_env)
    yield service
    service.stop()
    assert "Traceback" not in service.log(), service.log()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium. Missing Chromium fails the test: it never skips. Module-scoped:
    Playwright's sync API holds an event loop on this thread until it stops, and tests after it
    (asyncio.run) need the thread back."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def console_problem(message, problems: list[str]) -> None:
    """Script errors. Chromium also logs every 4xx as "Failed to load resource": those are
    judged by response_problem instead (a form answered 400 is expected)."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console: {message.text}")


def request_problem(request, problems: list[str]) -> None:
    """A request that failed. Not a page's poll that Chromium aborted because the test navigated
    away while it was in flight (`net::ERR_ABORTED` on a fetch): the page cannot prevent that,
    and the workers page's poll met it once in ~20 suite runs. A server that dropped the
    connection still shows, as ERR_EMPTY_RESPONSE or ERR_CONNECTION_RESET."""
    if request.failure == "net::ERR_ABORTED" and request.resource_type in ("fetch", "xhr"):
        return
    problems.append(f"request failed: {request.url} {request.failure}")


def response_problem(response, problems: list[str]) -> None:
    if response.status >= 400 and response.request.resource_type != "document":
        problems.append(f"{response.status} for {response.url}")


def watched_page(browser, base_url: str) -> Iterator[object]:
    """A fresh browser page on `base_url` that fails the test on any script error, 4xx/5xx
    answer or failed request (a fixture's body: yield from it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base_url)
    context.add_init_script(CSP_WATCH_SCRIPT)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: console_problem(message, problems))
    page.on("response", lambda response: response_problem(response, problems))
    page.on("requestfailed", lambda request: request_problem(request, problems))
    yield page
    context.close()
    assert not problems, problems


@pytest.fixture
def page(browser, web_server, workers) -> Iterator[object]:
    """A fresh browser page on the web server, watched (`watched_page`)."""
    yield from watched_page(browser, web_server.url)


def assert_no_csp_violation(page) -> None:
    assert page.evaluate("window.__csp") == []


@pytest.fixture
def dead_busy_worker(redis_client: redis_lib.Redis) -> Iterator[Worker]:
    """A real RQ worker registration left as busy, whose fanout heartbeat stopped 30 s ago:
    what a worker killed mid-job leaves behind until RQ's registration expires."""
    worker = Worker(
        [fanout_queue(redis_client)],
        connection=redis_client,
        serializer=JSONSerializer,
        name=f"killed-{time.time_ns()}",
    )
    worker.register_birth()
    worker.set_state("busy")
    span = {"host": "gone-host", "cores": 2, "joined_at": time.time() - 60, "left_at": None}
    redis_client.hset(keys.worker_spans_key(), worker.name, json.dumps(span))
    redis_client.zadd(keys.alive_workers_key(), {worker.name: time.time() - 30})
    yield worker
    worker.register_death()
    redis_client.zrem(keys.alive_workers_key(), worker.name)
    redis_client.hdel(keys.worker_spans_key(), worker.name)
