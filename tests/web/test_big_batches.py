"""Runs of up to 100,000 URLs: pasted, uploaded as a file, or sent as JSON; every bad line
reported at once, with the user's input kept. Submitted to a private Redis no worker listens
to, so nothing of the batch is fetched."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
import redis as redis_lib

from contract import keys
from contract.settings import Settings
from producer.validation import InvalidInput, build_spec
from tests.support import start_redis
from tests.web.conftest import csrf_token, make_app

LIMIT = 100_000


@pytest.fixture(scope="module")
def quiet(tmp_path_factory, settings):
    """An app on a Redis of its own: what it enqueues is never run."""
    service = start_redis(tmp_path_factory.mktemp("big"))
    app = make_app(dataclasses.replace(settings, redis_url=service.url))
    yield app, redis_lib.Redis.from_url(service.url)
    service.stop()


def urls(n: int, origin: str = "http://127.0.0.1:9") -> list[str]:
    return [f"{origin}/x?n={i}" for i in range(n)]


def test_the_default_limit_is_100000_urls():
    assert Settings.from_env({}).max_urls == LIMIT
    spec = build_spec({"urls": urls(LIMIT), "strategy": "threads"}, Settings.from_env({}))
    assert len(spec.urls) == LIMIT
    with pytest.raises(InvalidInput, match="100001 URLs is more than the limit of 100000"):
        build_spec({"urls": urls(LIMIT + 1), "strategy": "threads"}, Settings.from_env({}))


def test_every_bad_line_is_reported_at_once_with_its_line_number():
    text = (
        "# a comment\nhttp://ok.example/a\nftp://x/y\n\nnot a url\nhttp://ok.example/b\nhttp://\n"
    )
    with pytest.raises(InvalidInput) as caught:
        build_spec({"urls": text, "strategy": "threads"}, Settings.from_env({}))
    message = caught.value.message
    assert message.startswith("3 bad lines: ")
    assert "line 3:" in message and "line 5:" in message and "line 7:" in message
    assert "line 2:" not in message and "line 6:" not in message


def test_a_batch_of_100000_urls_is_accepted_by_the_api_in_one_step(quiet):
    app, client = quiet
    response = app.test_client().post(
        "/api/runs", json={"urls": urls(LIMIT), "strategy": "threads", "concurrency": 50}
    )
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    run_id = response.get_json()["id"]
    assert client.llen(keys.urls_key(run_id)) == LIMIT
    assert int(client.hget(keys.run_key(run_id), "total")) == LIMIT
    summary = app.test_client().get(f"/api/runs/{run_id}?tasks=false").get_json()
    assert summary["total"] == LIMIT and "urls" not in summary["spec"]
    page = app.test_client().get(f"/api/runs/{run_id}?offset=99990&limit=20").get_json()
    assert page["spec"]["urls"] == urls(LIMIT)[99990:] and page["next_offset"] is None


def test_the_form_takes_an_uploaded_file_and_keeps_the_input_on_error(quiet):
    app, _ = quiet
    client = app.test_client()
    token = csrf_token(client.get("/").get_data(as_text=True))
    good = "# from a sitemap\n" + "\n".join(urls(3000)) + "\n"
    response = client.post(
        "/",
        data={
            "csrf_token": token,
            "strategy": "threads",
            "concurrency": "8",
            "workload": "fetch",
            "run": "Run",
            "urls_file": (io.BytesIO(good.encode()), "urls.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    bad = "http://ok.example/a\nnope\n"
    response = client.post(
        "/",
        data={
            "csrf_token": token,
            "urls": "http://pasted.example/kept",
            "strategy": "threads",
            "concurrency": "8",
            "workload": "fetch",
            "run": "Run",
            "urls_file": (io.BytesIO(bad.encode()), "urls.txt"),
        },
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "line 3: " in html  # the pasted line, then the file's: its second line is line 3
    assert "http://pasted.example/kept" in html
    response = client.post(
        "/",
        data={
            "csrf_token": token,
            "strategy": "threads",
            "run": "Run",
            "urls_file": (io.BytesIO(b"\xff\xfe\x00bad"), "urls.bin"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "not UTF-8 text" in response.get_data(as_text=True)


def test_json_bodies_of_100000_urls_fit_under_the_body_limit(quiet):
    app, _ = quiet
    body = json.dumps({"urls": urls(LIMIT, "http://a-rather-long-host-name.example:8081")})
    assert len(body) < app.config["MAX_CONTENT_LENGTH"]
