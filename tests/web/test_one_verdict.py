"""One verdict per input: the form, the upload, the JSON API, the CLI and the worker's check of
a URL accept and refuse the same things (contract.verdicts decides for all of them).

The app runs on a private Redis with no worker: what is accepted is only queued, never fetched.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner
from flask import Flask
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from contract.settings import Settings
from fanout.cli import main
from fanout.producer_commands import _batch_spec
from tests.support import start_redis
from tests.web.conftest import csrf_token, make_app
from worker.guard import Refused
from worker.url_check import check_url

SETTINGS = Settings.from_env({})


@pytest.fixture(scope="module")
def verdict_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    service = start_redis(tmp_path_factory.mktemp("verdict-redis"))
    yield make_app(dataclasses.replace(SETTINGS, redis_url=service.url))
    service.stop()


def _form(app: Flask, urls: str, concurrency: str, strategy: str, *, upload: bool) -> bool:
    client = app.test_client()
    data: dict[str, object] = {
        "csrf_token": csrf_token(client.get("/").get_data(as_text=True)),
        "strategy": strategy,
        "concurrency": concurrency,
        "workload": "fetch",
        "run": "Run",
    }
    if upload:
        data["urls_file"] = (io.BytesIO(urls.encode()), "urls.txt")
    else:
        data["urls"] = urls
    response = client.post("/", data=data, content_type="multipart/form-data")
    assert response.status_code in (303, 400), response.status_code
    return response.status_code == 303


def _json_number(text: str) -> object:
    """The JSON spelling of what a person typed: a number when it is a decimal numeral."""
    return int(text) if re.fullmatch(r"[0-9]{1,9}", text.strip(), re.ASCII) else text


def _api(app: Flask, url: str, concurrency: str, strategy: str) -> bool:
    body = {"urls": [url], "strategy": strategy, "concurrency": _json_number(concurrency)}
    response = app.test_client().post("/api/runs", json=body)
    assert response.status_code in (202, 400), response.status_code
    if response.status_code == 400:
        assert response.get_json()["error"]
    return response.status_code == 202


def _cli(url: str, concurrency: str, strategy: str) -> bool:
    try:
        _batch_spec((url,), None, False, concurrency, "fetch", strategy, SETTINGS)
    except click.UsageError:
        return False
    return True


def _worker(url: str) -> bool:
    try:
        check_url(url)
    except Refused:
        return False
    return True


def verdicts(
    app: Flask, url: str, concurrency: str = "8", strategy: str = "threads"
) -> dict[str, bool]:
    return {
        "form": _form(app, url, concurrency, strategy, upload=False),
        "upload": _form(app, url, concurrency, strategy, upload=True),
        "api": _api(app, url, concurrency, strategy),
        "cli": _cli(url, concurrency, strategy),
    }


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://user@a.example/", False),  # the worker refuses userinfo at fetch time
        ("http://[2001:db8::1]:8080/x", True),  # an IPv6 literal: fetchable
        ("https://bücher.de/", False),  # the clients' IDNA differ: its xn-- form is taken
        ("http://A.EXAMPLE./", True),
    ],
)
def test_every_channel_gives_a_url_the_workers_verdict(verdict_app, url, accepted):
    seen = verdicts(verdict_app, url) | {"worker": _worker(url)}
    assert seen == dict.fromkeys(seen, accepted)


@pytest.mark.parametrize("text", ["\uff18", "1_0", "+8", "\u0663", "8.0", " 0", "\uff11\uff12"])
def test_every_channel_refuses_a_concurrency_that_is_not_ascii_digits(verdict_app, text):
    assert verdicts(verdict_app, "http://a.example/", text) == dict.fromkeys(
        ("form", "upload", "api", "cli"), False
    )


def test_the_command_line_refuses_a_full_width_concurrency_with_exit_2():
    result = CliRunner().invoke(main, ["run", "-c", "\uff18", "http://a.example/"])
    assert result.exit_code == 2, result.output
    assert "concurrency must be between 1 and 500, an integer" in result.output


HOST_PIECES = st.sampled_from(
    ["a", "example", "com", "127", "0", "1", "255", "256", "0x7f", "2130706433", "%61", "\uff45",
     "ü", "xn--bcher-kva", "a_b", "-a", "[::1]", "[2001:db8::1]", "[::ffff:127.0.0.1]", "[:::]",
     "u@a", "u:p@a", "", "A"]
)  # fmt: skip
HOSTS = st.lists(HOST_PIECES, min_size=1, max_size=4).map(".".join)
PORTS = st.sampled_from(["", ":", ":80", ":8081", ":0", ":65535", ":65536", ":\uff11", ":08"])
PATHS = st.sampled_from(["", "/", "/x?y=1", "/%zz", "#f", "/a b", "/\u2028", "/ü", "/\\x"])
URLS = st.builds(
    "{}://{}{}{}".format, st.sampled_from(["http", "https", "HTTP", "ftp"]), HOSTS, PORTS, PATHS
) | st.text(max_size=30)
CONCURRENCY = st.sampled_from(["8", "1", "0", "500", "501", "08", "\uff18", "1_0", "-1", "x"])
STRATEGIES = st.sampled_from(["threads", "queue", "hybrid", "Threads", "warp", "threads\x00"])


@given(url=URLS, concurrency=CONCURRENCY, strategy=STRATEGIES)
@example(url="http://user@a.example/", concurrency="8", strategy="threads")
@example(url="http://[::1]/", concurrency="\uff18", strategy="threads")
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_form_upload_api_cli_and_worker_agree_on_every_input(
    verdict_app, url, concurrency, strategy
):
    """A line of a form or a file is stripped, and `#` starts a comment there: such URLs are
    not the same input in every channel, so they are left out."""
    assume(url and url == url.strip() and len(url.splitlines()) == 1)
    assume(not url.startswith("#") and "\x00" not in url)
    seen = verdicts(verdict_app, url, concurrency, strategy)
    assert len(set(seen.values())) == 1, (url, concurrency, strategy, seen)
    if concurrency == "8" and strategy in ("threads", "queue", "hybrid"):  # the URL decides
        assert _worker(url) == seen["api"], (url, seen)
