"""The OpenAPI document comes from the views' own declarations (web.operations): a route under
/api/ without one breaks the document, and every declared operation answers what it declares."""

from __future__ import annotations

import dataclasses
import time

import pytest
from flask import Blueprint, Flask, Response, jsonify

from contract import keys
from contract.states import Strategy, TaskState
from tests.web.conftest import make_app
from tests.web.records import write_comparison, write_run
from web import responses as r
from web.openapi import openapi_document
from web.operations import declare, declared, ok

URLS = ["http://a.example/0", "http://a.example/1", "http://a.example/2"]
STATES = [TaskState.OK, TaskState.ERROR, TaskState.OK]


def test_every_api_route_has_a_declaration(app):
    api_rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    assert api_rules
    for rule in api_rules:
        assert declared(app.view_functions[rule.endpoint]), rule.rule


def test_an_api_route_without_a_declaration_breaks_the_document(settings):
    app = make_app(settings)
    bp = Blueprint("extra", __name__, url_prefix="/api")
    bp.add_url_rule("/undeclared", view_func=lambda: jsonify({}))
    app.register_blueprint(bp)
    with pytest.raises(LookupError, match="/api/undeclared"):
        openapi_document(settings, app)
    assert app.test_client().get("/openapi.json").status_code == 500


def test_a_view_answering_other_than_its_declared_model_fails(settings, caplog):
    app = make_app(settings, CHECK_REPLIES=True)
    bp = Blueprint("drift", __name__, url_prefix="/api")

    @bp.get("/drift")
    @declare("drift", "A view that forgot a field", replies=ok("Accepted", r.RunAccepted))
    def drift() -> Response:
        return jsonify({"id": "0123456789ab"})  # no `url`

    app.register_blueprint(bp)
    assert app.test_client().get("/api/drift").status_code == 500
    assert "drift 200" in caplog.text and "url\n  Field required" in caplog.text
    assert openapi_document(settings, app)["paths"]["/api/drift"]["get"]["operationId"] == "drift"


@pytest.fixture
def checked(private_redis_service, private_redis, settings) -> tuple[Flask, dict[str, str]]:
    """An app that checks every answer against its declaration, on a Redis holding a run, a
    comparison and one live host (a supervisor's beat), so each operation can succeed."""
    private = dataclasses.replace(settings, redis_url=private_redis_service.url)
    run_id = write_run(private_redis, URLS, STATES, ended=2, running=1)
    runs = [write_run(private_redis, URLS, STATES, strategy=s) for s in Strategy]
    comparison_id = write_comparison(private_redis, URLS, runs)
    private_redis.zadd(keys.hosts_key(), {"host-a": time.time()})
    return make_app(private, CHECK_REPLIES=True), {"run_id": run_id, "comparison_id": comparison_id}


def test_every_declared_operation_answers_as_declared(checked, origin_url):
    app, ids = checked
    client = app.test_client()
    calls = [
        ("post", "/api/runs", {"urls": [origin_url + "/bytes/1"], "strategy": "threads"}),
        ("post", "/api/runs", {"urls": [origin_url + "/bytes/1"], "compare": True}),
        ("get", "/api/runs?limit=2", None),
        ("get", f"/api/runs/{ids['run_id']}?since=1", None),
        ("get", f"/api/runs/{ids['run_id']}?offset=1&limit=1", None),
        ("get", f"/api/runs/{ids['run_id']}/tasks?sort=duration&state=ok&order=desc", None),
        ("get", f"/api/runs/{ids['run_id']}/timeline?from=0&to=5", None),
        ("get", f"/api/runs/{ids['run_id']}/timeline?since=1", None),
        ("get", f"/api/compare/{ids['comparison_id']}?tasks=false", None),
        ("get", "/api/workers", None),
        ("get", "/api/workers/tree", None),
        ("get", "/api/stats?window=60", None),
        ("put", "/api/workers/target", {"per_host": 1}),
        ("get", "/api/workers/target", None),
        ("post", "/api/sweeps", {"preset": "io", "workers": [1]}),
    ]
    called = set()
    for method, url, body in calls:
        response = getattr(client, method)(url, json=body)
        assert response.status_code < 400, (url, response.get_json())
        called.add(app.url_map.bind("").match(url.split("?")[0], method.upper())[0])
        if url == "/api/sweeps":
            sweep = client.get(response.headers["Location"] + "?fit=all")
            assert sweep.status_code == 200
            called.add("scaling_api.get_sweep")
    declared_api = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
    }
    assert called == declared_api


RUN = "/api/runs/000000000000"  # unknown: the query is refused before the run is looked up


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/runs?limit=0", "limit must be a whole number from 1 to 200"),
        ("/api/runs?limit=5&offset=+1", "offset must be a whole number from 0 to 1000000"),
        (f"{RUN}?since=x&tasks=maybe", "tasks must be true or false (got 'maybe')"),
        ("/api/compare/000000000000?tasks=", "tasks must be true or false (got '')"),
        (f"{RUN}/tasks?order=up", "order must be one of asc, desc (got 'up')"),
        (f"{RUN}/tasks?state=&limit=1001", "limit must be a whole number from 1 to 1000"),
        (f"{RUN}/timeline?from=nan", "from must be a number of seconds from 0 to 10000000"),
        (f"{RUN}/timeline?to=1e400", "to must be a number of seconds from 0 to 10000000"),
        ("/api/sweeps/000000000000?fit=", "fit must be all (fit the marked points too) or absent"),
    ],
)
def test_a_bad_query_is_the_first_bad_fields_message(client, url, message):
    """The messages the hand-written query checks gave, field by field in their order."""
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json() == {"error": message, "field": message.split()[0]}
