"""Finished runs served from the web process's cache, validated by one HMGET, with ETags; on the
session's real Redis through the Flask test client."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from contract import keys
from contract.states import TaskState
from tests.web.conftest import make_app
from tests.web.records import end_again, end_tasks, write_run
from web.run_cache import EXTENSION, RunCache, Version

URLS = ["http://a.example/1", "http://a.example/2", "http://a.example/3"]
STATES = [TaskState.OK, TaskState.HTTP_ERROR, TaskState.TIMEOUT]


@pytest.fixture
def app(settings) -> Flask:
    """An app of its own per test, so its cache starts empty."""
    return make_app(settings)


def cache_of(app: Flask) -> RunCache:
    return app.extensions[EXTENSION]


def test_a_finished_run_is_served_from_the_cache_after_the_first_read(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    client = app.test_client()
    first = client.get(f"/api/runs/{run_id}")
    assert first.status_code == 200
    assert (cache_of(app).hits, cache_of(app).misses) == (0, 1)
    # The task records move away: only a cached record can still have them.
    redis_client.rename(keys.tasks_key(run_id), f"{keys.tasks_key(run_id)}:away")
    second = client.get(f"/api/runs/{run_id}")
    assert second.status_code == 200
    assert cache_of(app).hits == 1
    assert [task["index"] for task in second.get_json()["tasks"]] == [0, 1, 2]
    body = {k: v for k, v in second.get_json().items() if k != "now"}
    assert body == {k: v for k, v in first.get_json().items() if k != "now"}
    assert second.get_json()["now"] >= first.get_json()["now"]


def test_each_query_variant_is_cached_apart(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    client = app.test_client()
    full = client.get(f"/api/runs/{run_id}")
    light = client.get(f"/api/runs/{run_id}?tasks=false")
    since = client.get(f"/api/runs/{run_id}?since=0")
    assert "tasks" not in light.get_json() and len(full.get_json()["tasks"]) == 3
    assert since.get_json()["since"] == 0
    assert len({full.headers["ETag"], light.headers["ETag"], since.headers["ETag"]}) == 3
    assert len(cache_of(app)) == 3
    assert "tasks" not in client.get(f"/api/runs/{run_id}?tasks=false").get_json()
    assert cache_of(app).hits == 1


def test_a_bumped_duplicates_counter_is_never_served_stale(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    client = app.test_client()
    before = client.get(f"/api/runs/{run_id}")
    assert before.get_json()["duplicates"] == 0
    assert end_again(redis_client, run_id, 0) == 0  # a zombie's late write
    after = client.get(f"/api/runs/{run_id}")
    assert after.get_json()["duplicates"] == 1
    assert after.headers["ETag"] != before.headers["ETag"]
    assert cache_of(app).hits == 0
    assert client.get(f"/api/runs/{run_id}").get_json()["duplicates"] == 1
    assert cache_of(app).hits == 1


def test_an_expired_run_is_404_even_when_cached(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    client = app.test_client()
    etag = client.get(f"/api/runs/{run_id}").headers["ETag"]
    redis_client.delete(*keys.run_keys(run_id))
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    gone = client.get(f"/api/runs/{run_id}", headers={"If-None-Match": etag})
    assert gone.status_code == 404
    assert "ETag" not in gone.headers


def test_a_running_run_is_never_cached(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES, ended=1, running=2)
    client = app.test_client()
    first = client.get(f"/api/runs/{run_id}")
    assert first.get_json()["state"] == "running" and "ETag" not in first.headers
    assert [task["index"] for task in first.get_json()["tasks"]] == [0]
    end_tasks(redis_client, run_id, ended=2)
    second = client.get(f"/api/runs/{run_id}")
    assert [task["index"] for task in second.get_json()["tasks"]] == [0, 1]
    assert len(cache_of(app)) == 0 and cache_of(app).hits == 0


def test_if_none_match_is_304_without_a_body_and_another_tag_is_200(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    client = app.test_client()
    etag = client.get(f"/api/runs/{run_id}").headers["ETag"]
    assert etag.startswith('W/"')
    same = client.get(f"/api/runs/{run_id}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b""
    assert same.headers["ETag"] == etag
    other = client.get(f"/api/runs/{run_id}", headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and len(other.get_json()["tasks"]) == 3
    end_again(redis_client, run_id, 0)
    stale = client.get(f"/api/runs/{run_id}", headers={"If-None-Match": etag})
    assert stale.status_code == 200 and stale.get_json()["duplicates"] == 1


def test_the_etag_is_the_same_in_every_process(app, settings, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    etag = app.test_client().get(f"/api/runs/{run_id}").headers["ETag"]
    other = make_app(settings).test_client()
    assert other.get(f"/api/runs/{run_id}", headers={"If-None-Match": etag}).status_code == 304


def test_records_that_the_stdlib_wrote_and_orjson_refuses_still_read(app, redis_client):
    run_id = write_run(redis_client, URLS, STATES)
    written = json.loads(redis_client.hget(keys.tasks_key(run_id), "2"))
    odd = written | {"state": "error", "error": "\ud800 bad", "duration_s": float("nan")}
    redis_client.hset(keys.tasks_key(run_id), "2", json.dumps(odd))  # the stdlib: NaN, \\ud800
    response = app.test_client().get(f"/api/runs/{run_id}")
    assert response.status_code == 200
    assert response.get_json()["tasks"][2]["error"] == "\ud800 bad"


FINISHED = Version("done", "3", None, "2")


def record(tasks: int, duplicates: int = 0) -> dict:
    return {"state": "done", "duplicates": duplicates, "tasks": [{}] * tasks}


def test_the_cache_forgets_the_least_recently_used_beyond_its_bounds():
    cache = RunCache(max_entries=2, max_tasks=10)
    for run_id in ("a", "b"):
        cache.put(run_id, (True, None, 0, 5000), FINISHED, record(3))
    assert cache.get("a", (True, None, 0, 5000), FINISHED) is not None  # b is now the oldest
    cache.put("c", (True, None, 0, 5000), FINISHED, record(3))
    assert cache.get("b", (True, None, 0, 5000), FINISHED) is None
    assert cache.get("a", (True, None, 0, 5000), FINISHED) is not None
    cache.put("d", (True, None, 0, 5000), FINISHED, record(6))  # 4 + 7 task units: over 10
    assert len(cache) == 1 and cache.get("d", (True, None, 0, 5000), FINISHED) is not None
    cache.put("e", (True, None, 0, 5000), FINISHED, record(10))  # over the bound alone: not kept
    assert cache.get("e", (True, None, 0, 5000), FINISHED) is None


def test_the_cache_keeps_only_finished_records_read_at_their_version():
    cache = RunCache()
    cache.put("a", (True, None, 0, 5000), Version("running", "1", None), record(1))
    cache.put(
        "b", (True, None, 0, 5000), FINISHED, record(1, duplicates=1)
    )  # newer than its version
    assert len(cache) == 0
    cache.put("c", (True, None, 0, 5000), FINISHED, record(1))
    assert cache.get("c", (True, None, 0, 5000), Version("done", "3", "1")) is None
    assert len(cache) == 0  # an entry found at another version is dropped
