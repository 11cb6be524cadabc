"""Submissions are rate-limited per client across every gunicorn process, with a message, and a
Redis outage never turns the limiter into a 500."""

from __future__ import annotations

import dataclasses
import re
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from contract import keys
from tests.reliability.conftest import figure
from tests.support import free_port, wait_until
from tests.web.conftest import csrf_token, make_app
from web.limits import KEY_PREFIX

LIMIT = 12
HAMMER = 60
THREADS = 8
#: gunicorn access log lines that name the process that answered.
ACCESS_LOG = "pid=%(p)s %(m)s %(U)s %(s)s"


def _submission(origin_url: str, n: int) -> dict:
    return {"urls": [f"{origin_url}/delay/0?n={n}"], "strategy": "sequential", "concurrency": 1}


def test_submissions_are_limited_per_client_across_gunicorn_processes(private_stack, origin_url):
    stack = private_stack()
    web = stack.add_web(
        processes=2,
        FANOUT_RATE_LIMIT_SUBMIT=f"{LIMIT}/hour",
        GUNICORN_CMD_ARGS=f"--access-logformat '{ACCESS_LOG}'",
    )
    runs_before = stack.client.zcard(keys.runs_index_key())
    lock = threading.Lock()
    answers: Counter[int] = Counter()
    messages: set[str] = set()

    def submit(n: int) -> None:
        # A new connection each time, so gunicorn spreads them over both processes.
        response = requests.post(f"{web.url}/api/runs", json=_submission(origin_url, n), timeout=10)
        with lock:
            answers[response.status_code] += 1
            if response.status_code == 429:
                messages.add(response.json()["error"])
                assert int(response.headers["Retry-After"]) >= 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(submit, range(HAMMER)))

    def logged() -> list[tuple[str, str]]:
        return re.findall(r"^pid=<?(\d+)>? POST /api/runs (\d+)$", web.log(), re.M)

    # Every request has been answered; its access-log line may land a moment later.
    wait_until(lambda: len(logged()) >= HAMMER, 10, "every request in the access log")
    lines = logged()
    served_by = Counter(pid for pid, _ in lines)
    accepted_by = Counter(pid for pid, status in lines if status == "202")
    figure(f"rate limit {LIMIT}/hour, {HAMMER} submissions from {THREADS} threads over "
           f"2 gunicorn processes (served {sorted(served_by.values())}, accepted "
           f"{sorted(accepted_by.values())}): {dict(answers)}")  # fmt: skip
    assert sum(served_by.values()) == HAMMER
    assert len(served_by) == 2, f"both gunicorn processes must have answered: {served_by}"
    assert answers == {202: LIMIT, 429: HAMMER - LIMIT}
    assert all(m.startswith(f"rate limit exceeded: {LIMIT} per 1 hour") for m in messages)
    # Accepted means created: exactly LIMIT runs more in the index.
    assert stack.client.zcard(keys.runs_index_key()) == runs_before + LIMIT
    counters = list(stack.client.scan_iter(f"{KEY_PREFIX}:*"))
    assert counters and all(0 < stack.client.ttl(key) <= 3600 for key in counters)

    # Reads are not limited by default, and the form gets a page, not JSON.
    assert requests.get(f"{web.url}/api/runs", timeout=10).status_code == 200
    session = requests.Session()
    token = csrf_token(session.get(f"{web.url}/", timeout=10).text)
    form = {"csrf_token": token, "urls": f"{origin_url}/delay/0", "strategy": "threads",
            "concurrency": "2", "workload": "fetch", "run": "Run"}  # fmt: skip
    page = session.post(f"{web.url}/", data=form, timeout=10, allow_redirects=False)
    assert page.status_code == 429
    assert page.headers["Content-Type"].startswith("text/html")
    assert "rate limit exceeded" in page.text and "Traceback" not in page.text
    assert page.headers["Content-Security-Policy"]


def test_the_form_and_the_api_share_one_budget_per_client(settings, origin_url):
    app = make_app(settings, RATE_LIMIT_SUBMIT="3/hour")
    api, browser = app.test_client(), app.test_client()
    # A client address of its own, so no other test's submissions count here.
    environ = {"REMOTE_ADDR": f"127.9.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    token = csrf_token(browser.get("/", environ_base=environ).get_data(as_text=True))
    form = {"csrf_token": token, "urls": f"{origin_url}/delay/0", "strategy": "threads",
            "concurrency": "2", "workload": "fetch", "run": "Run"}  # fmt: skip
    answers = [
        api.post("/api/runs", json=_submission(origin_url, 0), environ_base=environ),
        browser.post("/", data=form, environ_base=environ),
        api.post("/api/runs", json=_submission(origin_url, 1), environ_base=environ),
        browser.post("/", data=form, environ_base=environ),
        api.post("/api/runs", json=_submission(origin_url, 2), environ_base=environ),
    ]
    other = api.post("/api/runs", json=_submission(origin_url, 3))  # another client
    assert [r.status_code for r in answers] == [202, 303, 202, 429, 429]
    assert answers[4].get_json()["error"].startswith("rate limit exceeded: 3 per 1 hour")
    assert other.status_code == 202


def test_redis_down_is_503_not_500_and_limits_hold_in_memory(settings, origin_url):
    closed = dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    app = make_app(closed, RATE_LIMIT_SUBMIT="2/hour")
    client = app.test_client()
    statuses = [
        client.post("/api/runs", json=_submission(origin_url, n)).status_code for n in range(4)
    ]
    # The limiter counts in this process's memory while Redis is away; the view answers 503.
    assert statuses == [503, 503, 429, 429]
    assert client.get("/api/runs").status_code == 503
    assert client.get("/healthz").status_code == 503


def test_a_refused_token_does_not_use_up_the_submit_budget(settings, origin_url):
    """The budget protects workers' time; a write refused 401 costs them none, so a client with
    a wrong or missing token gets 401 every time (never 429), and its budget is intact."""
    guarded = dataclasses.replace(settings, api_token="s3cret-token")
    client = make_app(guarded, RATE_LIMIT_SUBMIT="3/hour").test_client()
    environ = {"REMOTE_ADDR": f"127.8.{secrets.randbelow(250)}.{secrets.randbelow(250)}"}
    wrong = {"Authorization": "Bearer not-the-token"}
    refused = [
        client.post(path, json=_submission(origin_url, n), headers=headers, environ_base=environ)
        for n in range(4)
        for path in ("/api/runs", "/api/sweeps")
        for headers in (wrong, {})
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    right = {"Authorization": "Bearer s3cret-token"}
    accepted = [
        client.post(
            "/api/runs", json=_submission(origin_url, n), headers=right, environ_base=environ
        )
        for n in range(4)
    ]
    assert [r.status_code for r in accepted] == [202, 202, 202, 429]
