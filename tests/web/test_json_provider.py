"""The app's orjson provider answers what Flask's default one did for every value the app sends."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import jsonify
from flask.json.provider import DefaultJSONProvider

from contract.states import TaskState
from web.json_provider import OrjsonProvider


@dataclass
class Point:
    x: int
    state: TaskState


VALUES = [
    {"state": TaskState.OK, "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)},
    {"point": Point(1, TaskState.LOST), "money": Decimal("1.5"), "unicode": "é <b>"},
    {1: "int key", 2.5: "float key"},  # orjson refuses: the stdlib answers
    {"big": 2**70, "lone": "\ud800", "nested": [[{"a": [1.5, None, True]}]]},
]


def test_dumps_parse_back_as_the_default_providers_do(app):
    fast, default = OrjsonProvider(app), DefaultJSONProvider(app)
    for value in VALUES:
        assert json.loads(fast.dumps(value)) == json.loads(default.dumps(value)), value


def test_sort_keys_is_honoured_and_responses_keep_insertion_order(app):
    provider = OrjsonProvider(app)
    assert provider.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'
    with app.app_context():
        response = jsonify({"b": 1, "a": [1, 2]})
    assert response.data == b'{"b":1,"a":[1,2]}\n'
    assert response.mimetype == "application/json"


def test_the_app_uses_it_for_responses_and_templates(app, client):
    assert isinstance(app.json, OrjsonProvider)
    assert app.jinja_env.policies["json.dumps_function"] == app.json.dumps
    health = client.get("/healthz").get_json()
    assert (health["status"], health["redis"], health["persistence"]["durability"]) == (
        "ok",
        "ok",
        "aof",
    )
