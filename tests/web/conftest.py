"""Fixtures of the web tests: Flask apps on the session Redis (and on a closed port), a real
gunicorn serving `fanout web`, and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from contract.settings import Settings
from tests.support import Service, free_port, start_service, wait_until
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def make_app(settings: Settings, **config: object) -> Flask:
    return create_app({"SETTINGS": settings, "SECRET_KEY": "test-secret", "TESTING": True} | config)


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
    """`fanout web` (gunicorn, 2 processes x 4 threads) on a free loopback port."""
    port = free_port()
    env = dict(
        stack_env,
        WEB_PORT=str(port),
        FANOUT_DATA_DIR=str(tmp_path_factory.mktemp("web-data")),
    )
    service = start_service(
        f"web-{port}",
        [sys.executable, "-m", "fanout", "web", "--port", str(port)],
        service_logs,
        env,
    )
    service.url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if not service.alive():
            raise RuntimeError(f"fanout web exited:\n{service.log()}")
        try:
            return requests.get(f"{service.url}/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_until(ready, 30, "fanout web")
    yield service
    service.stop()
    assert "Traceback" not in service.log(), service.log()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium. Missing Chromium fails the test: it never skips."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
