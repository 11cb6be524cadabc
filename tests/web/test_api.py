"""The JSON API through Flask's test client, on the session's real Redis (no mocks)."""

from __future__ import annotations

import json
import re

import pytest

from contract import keys
from contract.states import Strategy, TaskState
from tests.web.records import write_run
from tests.web.schema import assert_matches, validator


def small_batch(origin_url: str, n: int = 1) -> list[str]:
    return [f"{origin_url}/delay/0?n={i}" for i in range(n)]


def test_submit_run_answers_202_with_its_id_and_where_to_poll(client, origin_url, settings):
    response = client.post(
        "/api/runs",
        json={"urls": small_batch(origin_url), "strategy": "threads", "concurrency": 2},
    )
    assert response.status_code == 202
    body = response.get_json()
    assert_matches(settings, "RunAccepted", body)
    assert body["url"] == f"/runs/{body['id']}"
    assert response.headers["Location"] == f"/api/runs/{body['id']}"
    record = client.get(response.headers["Location"]).get_json()
    assert record["spec"]["strategy"] == "threads"
    assert record["state"] in ("queued", "running", "done")


def test_submit_comparison_answers_202_with_one_run_per_strategy(client, origin_url, settings):
    response = client.post("/api/runs", json={"urls": small_batch(origin_url), "compare": True})
    assert response.status_code == 202
    body = response.get_json()
    assert_matches(settings, "ComparisonAccepted", body)
    assert [run["strategy"] for run in body["runs"]] == [s.value for s in Strategy]
    assert body["url"] == f"/compare/{body['id']}"
    comparison = client.get(f"/api/compare/{body['id']}").get_json()
    assert_matches(settings, "Comparison", comparison)
    assert [run["id"] for run in comparison["runs"]] == [run["id"] for run in body["runs"]]


def test_comparison_can_name_its_strategies(client, origin_url):
    response = client.post(
        "/api/runs",
        json={"urls": small_batch(origin_url), "compare": True, "strategies": ["queue", "threads"]},
    )
    assert response.status_code == 202
    assert [run["strategy"] for run in response.get_json()["runs"]] == ["queue", "threads"]


ONE = ["http://a.example/"]
THREADS = {"urls": ONE, "strategy": "threads"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"strategy": "threads"}, "urls", "urls is required"),
        ({"urls": [], "strategy": "threads"}, "urls", "at least one URL"),
        ({"urls": "http://a.example/", "strategy": "threads"}, "urls", "list"),
        ({"urls": [*ONE, "ftp://b.example/"], "strategy": "threads"}, "urls", "line 2"),
        ({"urls": [*ONE, "javascript:alert(1)"], "strategy": "queue"}, "urls", "line 2"),
        ({"urls": ONE, "strategy": "warp"}, "strategy", "threads"),
        ({"urls": ONE}, "strategy", "strategy is required"),
        (THREADS | {"concurrency": 0}, "concurrency", "between 1"),
        (THREADS | {"concurrency": "8"}, "concurrency", "integer"),
        (THREADS | {"concurrency": True}, "concurrency", "integer"),
        (THREADS | {"concurrency": 2.5}, "concurrency", "integer"),
        (THREADS | {"workload": "gpu"}, "workload", "fetch"),
        ({"urls": ONE, "compare": "yes"}, "compare", "true or false"),
        ({"urls": ONE, "compare": True, "strategies": []}, "strategies", "non-empty"),
        ({"urls": ONE, "compare": True, "strategies": ["x"]}, "strategies", "one of"),
        ({"urls": ONE, "compare": True, "strategies": ["queue", "queue"]}, "strategies", "repeat"),
        ({"urls": [["nested"]], "strategy": "threads"}, "urls", "line 1"),
        ({"urls": [None], "strategy": ["threads"]}, "urls", "line 1"),
        ({"urls": ONE, "strategy": {"a": 1}}, "strategy", "one of"),
    ],
)
def test_bad_submission_is_400_naming_the_field(client, settings, body, field, words):
    response = client.post("/api/runs", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()
    assert_matches(settings, "Error", error)
    assert error["field"] == field
    assert words in error["error"]


def test_concurrency_over_the_cap_names_the_limit(client, settings):
    body = {"urls": ["http://a.example/"], "strategy": "threads", "concurrency": 10_000}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 400
    assert str(settings.max_concurrency) in response.get_json()["error"]
    assert response.get_json()["field"] == "concurrency"


@pytest.mark.parametrize(
    "data", [b"{not json", b"[1, 2]", b'"text"', b"null", b"[" * 100_000, b"\xff\xfe"]
)
def test_a_body_that_is_not_a_json_object_is_400(client, data):
    response = client.post("/api/runs", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["field"] is None


def test_an_oversize_body_is_413_json(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    urls = [f"http://a.example/{'x' * 1000}?{i}" for i in range(limit // 1000 + 100)]
    response = client.post("/api/runs", json={"urls": urls, "strategy": "threads"})
    assert response.status_code == 413
    assert "error" in response.get_json()


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_that_is_not_json_is_415(client, content_type):
    response = client.post("/api/runs", data=b"urls=http://a.example/", content_type=content_type)
    assert response.status_code == 415
    assert "JSON" in response.get_json()["error"]


def test_an_unknown_run_is_404_json(client, settings):
    for path in ("/api/runs/000000000000", "/api/compare/000000000000", "/api/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert_matches(settings, "Error", response.get_json())


def test_a_wrong_method_is_405_json_with_allow(client):
    response = client.delete("/api/runs")
    assert response.status_code == 405
    assert response.is_json
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]
    assert client.put("/api/runs/000000000000").status_code == 405


def test_run_record_matches_the_schema_and_can_leave_out_tasks(client, redis_client, settings):
    run_id = write_run(
        redis_client,
        ["http://a.example/1", "http://a.example/2", "http://a.example/3"],
        [TaskState.OK, TaskState.HTTP_ERROR, TaskState.TIMEOUT],
    )
    record = client.get(f"/api/runs/{run_id}").get_json()
    assert_matches(settings, "Run", record)
    assert len(record["tasks"]) == 3 and record["running"] == []
    assert record["summary"]["efficiency"] is not None
    light = client.get(f"/api/runs/{run_id}?tasks=false").get_json()
    assert "tasks" not in light and light["done"] == 3
    bad = client.get(f"/api/runs/{run_id}?tasks=maybe")
    assert bad.status_code == 400 and bad.get_json()["field"] == "tasks"


def test_runs_are_listed_newest_first(client, redis_client, settings):
    first = write_run(redis_client, ["http://a.example/"], [TaskState.OK])
    second = write_run(redis_client, ["http://a.example/"], [TaskState.OK])
    redis_client.zadd(keys.runs_index_key(), {second: 4e9})  # in the future: certainly the newest
    body = client.get("/api/runs?limit=200").get_json()
    assert_matches(settings, "RunList", body)
    ids = [run["id"] for run in body["runs"]]
    assert ids[0] == second and first in ids
    assert client.get("/api/runs?limit=0").status_code == 400
    assert client.get("/api/runs?offset=-1").status_code == 400
    redis_client.zrem(keys.runs_index_key(), second)


def test_stats_are_per_second_series_of_the_window(client, settings):
    body = client.get("/api/stats?window=60").get_json()
    assert_matches(settings, "Stats", body)
    assert len(body["seconds"]) == len(body["tasks"]) == len(body["workers"]) == 60
    assert body["end"] - body["start"] == 59
    assert client.get("/api/stats?window=5").status_code == 400
    assert client.get("/api/stats?window=abc").get_json()["field"] == "window"


def test_workers_endpoint_reports_queue_and_registries(client, settings):
    body = client.get("/api/workers").get_json()
    assert_matches(settings, "Workers", body)
    assert body["queue"]["name"] == "fanout"


def test_healthz_is_200_when_redis_answers(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert_matches(settings, "Health", response.get_json())


def test_api_token_is_required_when_set(token_client, origin_url):
    body = {"urls": small_batch(origin_url), "strategy": "threads"}
    missing = token_client.post("/api/runs", json=body)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert token_client.get("/api/runs").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert token_client.get("/api/runs", headers=wrong).status_code == 401
    good = {"Authorization": "Bearer s3cret-token"}
    assert token_client.get("/api/runs", headers=good).status_code == 200
    assert token_client.post("/api/runs", json=body, headers=good).status_code == 202
    assert token_client.get("/healthz").status_code == 200  # probes stay open


def test_a_browser_that_loaded_a_page_may_read_but_not_submit(token_client, origin_url):
    token_client.get("/")
    assert token_client.get("/api/runs").status_code == 200
    body = {"urls": small_batch(origin_url), "strategy": "threads"}
    assert token_client.post("/api/runs", json=body).status_code == 401


def test_openapi_documents_every_api_route(client, app, settings):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    from jsonschema import Draft202012Validator

    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises, naming the bad keyword
    documented = {
        (path.replace("{", "<").replace("}", ">"), method.upper())
        for path, item in document["paths"].items()
        for method in item
    }
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/metrics", "/openapi.json"):
            path = re.sub(r"<\w+:", "<", rule.rule)  # <id:run_id> is {run_id} in the document
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (path, method) in documented, (rule.rule, method)
    limits = document["components"]["schemas"]["Submission"]["properties"]
    assert limits["concurrency"]["maximum"] == settings.max_concurrency
    assert limits["urls"]["maxItems"] == settings.max_urls


def test_openapi_declares_bearer_security_when_a_token_is_set(token_client):
    document = token_client.get("/openapi.json").get_json()
    assert document["paths"]["/api/runs"]["post"]["security"] == [{"bearer": []}]
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_metrics_are_prometheus_text_with_redis_gauges(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    for name in (
        "fanout_redis_up 1.0",
        'fanout_tasks{state="ok"}',
        'fanout_runs{state="done"}',
        "fanout_queue_depth",
        'fanout_queue_registry_jobs{registry="failed"}',
        "fanout_live_workers",
        "fanout_tasks_per_second",
        "fanout_http_request_duration_seconds_bucket",
        'route="/healthz"',
    ):
        assert name in text, name


def test_responses_carry_security_headers(client):
    for path in ("/", "/api/runs", "/healthz", "/nope"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"]


def test_plotly_partial_bundle_is_served_with_long_cache(client):
    """The cartesian partial bundle from npm (web.assets), not plotly's full 4.8 MB."""
    url = "/static/vendor/plotly-cartesian.min.js"
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.data.startswith(b"/**\n* plotly.js (cartesian - minified)")
    assert len(response.data) < 2_000_000
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert len(zipped.data) < len(response.data) / 2
    etag = response.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


def test_json_errors_never_show_a_traceback(client):
    response = client.post(
        "/api/runs", data=json.dumps({"urls": [1e400]}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://0*",
        "http://a.example/b c",
        "http://user@a.example/",
        "http://a.example:99999/",
        " http://a.example/",
    ],
)
def test_the_api_takes_only_urls_its_openapi_document_allows(client, settings, url):
    response = client.post("/api/runs", json={"urls": [url], "strategy": "threads"})
    assert response.status_code == 400
    assert response.get_json()["field"] == "urls" and "line 1" in response.get_json()["error"]
    errors = list(
        validator(settings, "Submission").iter_errors({"urls": [url], "strategy": "queue"})
    )
    assert errors  # the document says so too
