"""With Redis unreachable: 503 JSON on the API, a banner on pages; never a traceback or a 500."""

from __future__ import annotations

import pytest

from tests.web.conftest import csrf_token

API = [
    "/api/runs",
    "/api/runs/000000000000",
    "/api/compare/000000000000",
    "/api/workers",
    "/api/stats",
]
PAGES = [
    "/runs",
    "/runs/000000000000",
    "/runs/000000000000.csv",
    "/compare/000000000000",
    "/workers",
]


@pytest.fixture
def down(down_app):
    return down_app.test_client()


@pytest.mark.parametrize("path", API)
def test_api_reads_answer_503_json(down, path):
    response = down.get(path)
    assert response.status_code == 503
    assert response.get_json()["error"].startswith("Redis is unreachable")
    assert response.headers["Retry-After"]


def test_api_submission_answers_503_json(down):
    response = down.post("/api/runs", json={"urls": ["http://a.example/"], "strategy": "threads"})
    assert response.status_code == 503
    assert "Redis" in response.get_json()["error"]


def test_healthz_is_503(down):
    response = down.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "unreachable"


@pytest.mark.parametrize("path", PAGES)
def test_pages_show_a_banner_not_a_traceback(down, path):
    response = down.get(path)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert 'id="banner"' in html and 'id="banner" class="banner" role="alert" hidden' not in html
    assert "Traceback" not in html


def test_new_run_page_still_renders_with_the_banner(down):
    response = down.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'role="alert" hidden' not in html.split("<main")[0]
    assert "<textarea" in html


def test_submitting_the_form_keeps_the_input_and_says_why(down):
    token = csrf_token(down.get("/").get_data(as_text=True))
    data = {"csrf_token": token, "urls": "http://a.example/", "strategy": "threads",
            "concurrency": "2", "workload": "fetch", "run": "Run"}  # fmt: skip
    response = down.post("/", data=data)
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "Redis is unreachable" in html and "http://a.example/" in html


def test_metrics_still_answer_with_redis_up_zero(down):
    response = down.get("/metrics")
    assert response.status_code == 200
    assert "fanout_redis_up 0.0" in response.get_data(as_text=True)
