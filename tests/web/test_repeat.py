"""`repeat`: how many times a comparison runs each strategy (1 to 10), from the form and the
JSON API. Bad values are a 400 naming the field, whatever JSON can spell (1e400 is infinity)."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import csrf_token
from tests.web.schema import assert_matches

ONE = ["http://a.example/"]
COMPARE = {"urls": ONE, "compare": True, "strategies": ["sequential", "threads"]}


@pytest.mark.parametrize("value", [0, 11, -1, 2.5, "3", True, None, [2], {"n": 2}, 10**30])
def test_a_bad_repeat_is_400_naming_the_field(client, settings, value):
    response = client.post("/api/runs", json=COMPARE | {"repeat": value})
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()
    assert_matches(settings, "Error", error)
    assert error["field"] == "repeat"
    assert "between 1 and 10" in error["error"]


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity"])
def test_a_non_finite_repeat_is_400_naming_the_field(client, literal):
    body = f'{{"urls": ["http://a.example/"], "compare": true, "repeat": {literal}}}'
    response = client.post("/api/runs", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["field"] == "repeat"


@pytest.mark.parametrize("value", [1, 3, 10, 2.0])
def test_a_comparison_takes_a_repeat_count(client, origin_url, settings, value):
    body = COMPARE | {"urls": [f"{origin_url}/delay/0"], "repeat": value}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    accepted = response.get_json()
    assert_matches(settings, "ComparisonAccepted", accepted)
    strategies = [run["strategy"] for run in accepted["runs"]]
    assert strategies[:2] == ["sequential", "threads"]


def test_a_retried_comparison_with_repeat_is_created_once(client, origin_url):
    body = COMPARE | {"urls": [f"{origin_url}/delay/0"], "repeat": 2}
    headers = {"Idempotency-Key": "repeat-test-key-1"}
    first = client.post("/api/runs", json=body, headers=headers)
    again = client.post("/api/runs", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]


def test_openapi_documents_repeat(client):
    document = client.get("/openapi.json").get_json()
    repeat = document["components"]["schemas"]["Submission"]["properties"]["repeat"]
    assert repeat == repeat | {"type": "integer", "minimum": 1, "maximum": 10, "default": 1}


def compare_form(client, **fields: str) -> dict[str, str]:
    html = client.get("/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(html),
        "urls": "",
        "strategy": "threads",
        "concurrency": "4",
        "workload": "fetch",
        "compare": "Compare all strategies",
    }
    return data | fields


def test_the_form_offers_a_repeat_count_for_comparisons(client):
    html = client.get("/").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="repeat"[^>]*>', html)
    assert field, "no repeat field"
    for attribute in ('type="number"', 'min="1"', 'max="10"', 'value="1"'):
        assert attribute in field.group(0)


def test_the_form_submits_a_repeated_comparison(client, origin_url):
    response = client.post("/", data=compare_form(client, urls=f"{origin_url}/delay/0", repeat="3"))
    assert response.status_code == 303
    assert re.fullmatch(r"/compare/[0-9a-f]{12}", response.headers["Location"])


@pytest.mark.parametrize("value", ["0", "11", "1e400", "nan", "two", "2.5"])
def test_a_bad_repeat_in_the_form_is_shown_next_to_the_field(client, origin_url, value):
    data = compare_form(client, urls=f"{origin_url}/delay/0", repeat=value)
    response = client.post("/", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(r'id="repeat-error"[^>]*>(.*?)</p>', html, re.S)
    assert error and "between 1 and 10" in error.group(1)
