"""Idempotency-Key on POST /api/runs: a client that retries (after a timeout, a 503) gets the
first request's run, created once. On the session's real Redis, through Flask's test client."""

from __future__ import annotations

import threading
import uuid

from contract import keys
from producer.submit import run_id_for_key
from producer.validation import build_spec


def _body(origin_url: str, n: int = 2) -> dict:
    urls = [f"{origin_url}/delay/0?n={i}" for i in range(n)]
    return {"urls": urls, "strategy": "threads", "concurrency": 2}


def _post(client, body: dict, key: str | None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post("/api/runs", json=body, headers=headers)


def test_a_retry_gets_the_first_run_created_once(client, origin_url, redis_client):
    key, body = str(uuid.uuid4()), _body(origin_url)
    first = _post(client, body, key)
    assert first.status_code == 202, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    run_id = first.get_json()["id"]
    submitted_at = redis_client.hget(keys.run_key(run_id), "submitted_at")

    again = _post(client, body, key)

    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert redis_client.hget(keys.run_key(run_id), "submitted_at") == submitted_at
    assert _post(client, body, None).get_json()["id"] != run_id  # no key: a new run each time


def test_the_same_key_with_another_batch_is_refused(client, origin_url):
    key = str(uuid.uuid4())
    assert _post(client, _body(origin_url, 2), key).status_code == 202
    response = _post(client, _body(origin_url, 3), key)
    assert response.status_code == 422
    assert "different batch" in response.get_json()["error"]


def test_a_retry_after_a_submission_that_left_no_run_creates_it(
    client, origin_url, redis_client, settings
):
    """The first attempt named its run id, then Redis failed before the MULTI: no run exists."""
    key, body = str(uuid.uuid4()), _body(origin_url)
    reserved = run_id_for_key(redis_client, key, build_spec(body, settings), settings.ttl_s)
    assert not redis_client.exists(keys.run_key(reserved))

    response = _post(client, body, key)

    assert response.status_code == 202
    assert response.get_json()["id"] == reserved
    assert "Idempotent-Replayed" not in response.headers
    assert redis_client.hget(keys.run_key(reserved), "total") == b"2"


def _twins(app, body: dict, key: str) -> list:
    """Two requests with one key, released together."""
    answers: list = []
    gate = threading.Barrier(2)

    def post() -> None:
        with app.test_client() as twin:
            gate.wait()
            answers.append(_post(twin, body, key))

    twins = [threading.Thread(target=post) for _ in range(2)]
    for twin in twins:
        twin.start()
    for twin in twins:
        twin.join()
    return answers


def test_concurrent_twins_create_one_run(app, origin_url):
    for _ in range(10):
        answers = _twins(app, _body(origin_url), str(uuid.uuid4()))
        assert [a.status_code for a in answers] == [202, 202]
        assert len({a.get_json()["id"] for a in answers}) == 1
        replayed = sorted(a.headers.get("Idempotent-Replayed", "") for a in answers)
        assert replayed == ["", "true"]


def test_a_retried_comparison_gets_the_first_one(client, origin_url, redis_client):
    key = str(uuid.uuid4())
    body = {"urls": _body(origin_url)["urls"], "compare": True, "strategies": ["threads", "queue"]}
    first = _post(client, body, key)
    assert first.status_code == 202, first.get_json()
    runs_before = redis_client.zcard(keys.runs_index_key())

    again = _post(client, body, key)

    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert redis_client.zcard(keys.runs_index_key()) == runs_before
    other = dict(body, strategies=["threads"])
    assert _post(client, other, key).status_code == 422


def test_a_twin_of_a_comparison_being_created_hears_409(client, origin_url, redis_client):
    key = str(uuid.uuid4())
    body = {"urls": _body(origin_url)["urls"], "compare": True, "strategies": ["threads"]}
    first = _post(client, body, key)
    comparison_id = first.get_json()["id"]
    redis_client.delete(keys.comparison_key(comparison_id))  # as if still being created...
    redis_client.set(keys.idempotency_key(f"lock:{comparison_id}"), "1", ex=60)  # ...by a twin

    response = _post(client, body, key)

    assert response.status_code == 409
    assert "still being created" in response.get_json()["error"]


def test_bad_keys_are_refused_with_a_message(client, origin_url):
    for bad in ("x" * 201, "has space", "naïve"):
        response = _post(client, _body(origin_url), bad)
        assert response.status_code == 400, bad
        assert "Idempotency-Key" in response.get_json()["error"]
