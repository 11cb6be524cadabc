"""A submission's work is bounded and counted as what it asks, and the bodies say exactly one
thing: URLs x strategies x repeat within FANOUT_MAX_FETCHES, `repeat` only on a comparison,
UTF-8 JSON only, one uploaded file."""

from __future__ import annotations

import dataclasses
import io

from contract.settings import Settings
from tests.web.conftest import csrf_token, make_app

ONE = ["http://a.example/"]


def test_a_comparison_over_the_fetch_limit_is_400_naming_the_product(settings):
    app = make_app(dataclasses.replace(settings, max_urls=100))
    urls = [f"http://a.example/{i}" for i in range(100)]
    body = {"urls": urls, "compare": True, "repeat": 10}
    response = app.test_client().post("/api/runs", json=body)
    assert response.status_code == 400, response.get_json()
    error = response.get_json()
    assert "100 URLs x 6 strategies x repeat 10 = 6000 fetches" in error["error"]
    assert "limit of 100" in error["error"]


def test_the_fetch_limit_is_a_setting_defaulting_to_the_url_limit():
    assert Settings.from_env({"FANOUT_MAX_URLS": "50"}).max_fetches == 0
    assert Settings.from_env({"FANOUT_MAX_FETCHES": "7"}).max_fetches == 7


def test_repeat_on_a_plain_run_is_refused(client):
    for repeat in (1, 2):
        body = {"urls": ONE, "strategy": "threads", "repeat": repeat}
        response = client.post("/api/runs", json=body)
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["field"] == "repeat"
        assert "comparisons only" in response.get_json()["error"]


def test_a_utf16_json_body_is_refused_by_the_worker_target(client):
    data = '{"per_host": 1}'.encode("utf-16")
    response = client.put("/api/workers/target", data=data, content_type="application/json")
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["error"]


def test_a_utf16_json_submission_is_refused(client):
    data = '{"urls": ["http://a.example/"], "strategy": "threads"}'.encode("utf-16-le")
    response = client.post("/api/runs", data=data, content_type="application/json")
    assert response.status_code == 400
    assert "UTF-8" in response.get_json()["error"]


def test_a_second_uploaded_file_is_refused(client):
    html = client.get("/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(html),
        "strategy": "threads",
        "concurrency": "2",
        "workload": "fetch",
        "run": "Run",
        "urls_file": [
            (io.BytesIO(b"http://a.example/1\n"), "one.txt"),
            (io.BytesIO(b"http://a.example/2\n"), "two.txt"),
        ],
    }
    response = client.post("/", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "one file of URLs" in response.get_data(as_text=True)


def test_the_submit_rate_limit_weighs_a_comparison_by_its_runs(settings, tmp_path):
    """6 runs a minute: one comparison of the six strategies spends the whole budget."""
    app = make_app(settings, RATE_LIMIT_SUBMIT="6/minute", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.9.{tmp_path.stat().st_ino % 250}.1"
    compare = client.post("/api/runs", json={"urls": ONE, "compare": True})
    assert compare.status_code == 202, compare.get_json()
    plain = client.post("/api/runs", json={"urls": ONE, "strategy": "threads"})
    assert plain.status_code == 429, plain.get_json()


def test_the_submit_rate_limit_weighs_a_sweep_by_its_worker_counts(settings, tmp_path):
    """A sweep runs its batch once per worker count: three counts weigh three runs."""
    app = make_app(settings, RATE_LIMIT_SUBMIT="2/minute", RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.8.{tmp_path.stat().st_ino % 250}.1"
    response = client.post("/api/sweeps", json={"preset": "io", "workers": [1, 2, 3]})
    assert response.status_code == 429, response.get_json()
