"""Hostile ids, numbers, URLs and page numbers get a 4xx, never a 5xx.

Each case here answered 500 or 503 before: `int(inf)` raised OverflowError, a run id with a
`:running` suffix read another key of the run, a lone surrogate was stored and broke every page
of its run, and Redis rejecting an offset was reported as an outage.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
import redis as redis_lib

from contract import keys
from contract.states import TaskState
from producer.validation import InvalidInput, build_spec
from tests.support import start_redis
from tests.web.conftest import make_app
from tests.web.records import write_run

NON_FINITE = ["1e400", "-1e400", "Infinity", "-Infinity", "NaN"]


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_concurrency_is_400_naming_the_field(client, origin_url, number):
    body = f'{{"urls": ["{origin_url}/delay/0"], "strategy": "threads", "concurrency": {number}}}'
    response = client.post("/api/runs", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["field"] == "concurrency"


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan"), 1e300])
def test_build_spec_refuses_numbers_that_are_not_finite_integers_in_range(settings, number):
    with pytest.raises(InvalidInput) as info:
        build_spec({"urls": ["http://a.example/"], "strategy": "threads", "concurrency": number},
                   settings)  # fmt: skip
    assert info.value.field == "concurrency"


#: What a hostile id may carry: suffixes naming the run's other keys, and glob characters.
ID_SUFFIXES = [":running", ":tasks", ":order", ":nope", "*", "?", "[0-9]", ":running*", "\\"]


@pytest.fixture
def running_run(redis_client, settings) -> str:
    """A run with every one of its keys present: tasks ended, one running, an order list."""
    return write_run(redis_client, ["http://a.example/0", "http://a.example/1"],
                     [TaskState.OK, TaskState.OK], ended=1, running=1)  # fmt: skip


@pytest.mark.parametrize("suffix", ID_SUFFIXES)
def test_an_id_that_is_not_an_id_is_404_on_every_route(client, running_run, suffix):
    bad = quote(running_run + suffix, safe="")
    for path in (
        f"/api/runs/{bad}",
        f"/api/runs/{bad}?tasks=false",
        f"/runs/{bad}",
        f"/runs/{bad}.csv",
        f"/api/compare/{bad}",
        f"/compare/{bad}",
    ):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    assert client.get(f"/runs/{running_run}").status_code == 200


def test_an_id_of_the_wrong_length_or_case_is_404(client, running_run):
    for bad in (running_run[:-1], running_run + "0", running_run.upper()):
        assert client.get(f"/api/runs/{bad}").status_code == 404, bad
        assert client.get(f"/runs/{bad}").status_code == 404, bad


LONE_SURROGATE_URL = "http://127.0.0.1:8081/x\\ud800y"  # as JSON text: a lone high surrogate


def test_a_url_with_a_lone_surrogate_is_400_at_submission(client):
    body = f'{{"urls": ["{LONE_SURROGATE_URL}"], "strategy": "threads"}}'
    response = client.post("/api/runs", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["field"] == "urls"
    assert "line 1" in response.json["error"]


def test_build_spec_refuses_strings_that_are_not_unicode_scalars(settings):
    """The CLI gets lone surrogates from argv bytes that are not UTF-8 (surrogateescape)."""
    with pytest.raises(InvalidInput) as info:
        build_spec({"urls": [json.loads(f'"{LONE_SURROGATE_URL}"')], "strategy": "threads"},
                   settings)  # fmt: skip
    assert info.value.field == "urls"
    with pytest.raises(InvalidInput) as info:
        build_spec({"urls": ["http://a.example/"], "strategy": "threads\udcff"}, settings)
    assert info.value.field == "strategy"


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), "1" + "0" * 400])
def test_a_huge_page_number_is_400_or_an_empty_page(client, page):
    response = client.get(f"/runs?page={page}")
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert "No runs" in response.get_data(as_text=True)


@pytest.fixture
def broken_index_app(tmp_path: Path, settings):
    """An app on a private Redis whose run index holds a string: every read of it is WRONGTYPE."""
    service = start_redis(tmp_path)
    client = redis_lib.Redis.from_url(service.url)
    client.set(keys.runs_index_key(), "not a sorted set")
    yield make_app(dataclasses.replace(settings, redis_url=service.url))
    service.stop()


def test_a_redis_error_that_is_not_an_outage_is_a_500_with_a_log_line(broken_index_app, caplog):
    client = broken_index_app.test_client()
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        api = client.get("/api/runs")
        page = client.get("/runs")
    assert api.status_code == 500 and "unreachable" not in api.json["error"], api.json
    assert page.status_code == 500
    assert 'class="banner" role="alert" hidden' in page.get_data(as_text=True)  # no outage
    assert "Retry-After" not in api.headers
    logged = [r for r in caplog.records if r.exc_info and "WRONGTYPE" in str(r.exc_info[1])]
    assert len(logged) == 2, [r.getMessage() for r in caplog.records]
