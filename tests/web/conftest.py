"""Fixtures of the web tests: Flask apps on the session Redis (and on a closed port), a real
gunicorn serving `fanout web`, and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from contract.settings import Settings
from tests.support import Service, free_port, start_web
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
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
