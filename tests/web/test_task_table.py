"""The run page's table and timeline reads (/api/runs/<id>/tasks, /timeline): every row once, in
the order sorting every row would give, and answers that stay bounded at 20,000 tasks.

Reads are counted as the bytes a private Redis sent (`INFO stats`), as tests/test_reads_bounded.py
does: a property of the reads, not of the machine's speed.
"""

from __future__ import annotations

import dataclasses
import random

import pytest
import redis as redis_lib

from contract.states import TaskState
from producer.reader import load_run
from producer.task_table import SORT_KEYS
from tests.support import start_redis
from tests.web.conftest import make_app
from tests.web.records import write_run
from web.runview import table_row
from web.views import DASH

STATES = [TaskState.OK] * 6 + [TaskState.ERROR, TaskState.TIMEOUT, TaskState.HTTP_ERROR]
BIG = 20_000


@pytest.fixture(scope="module")
def private(tmp_path_factory, settings):
    service = start_redis(tmp_path_factory.mktemp("table"))
    client = redis_lib.Redis.from_url(service.url)
    app = make_app(dataclasses.replace(settings, redis_url=service.url))
    yield client, app.test_client()
    service.stop()


def mixed_run(client, n: int, *, ended: int | None = None, running: int = 0) -> str:
    rng = random.Random(n)
    urls = [f"http://127.0.0.1:9/{rng.randrange(1000)}?i={i}" for i in range(n)]
    states = [rng.choice(STATES) for _ in range(n)]
    return write_run(client, urls, states, ended=ended, running=running, duration_s=0.05)


def reference_rows(client, run_id: str, sort: str, desc: bool, state: str | None) -> list[int]:
    """Every row built from every record, sorted as the page's table always sorted them."""
    run = load_run(client, run_id)  # every task, every running one, every URL
    t0 = min(
        [t["started_at"] for t in run["tasks"]] + [s["started_at"] for s in run["running"]],
        default=None,
    )
    rows = {t["index"]: table_row(t, t0) for t in run["tasks"]}
    for start in run["running"]:
        rows.setdefault(start["index"], table_row({**start, "state": "running"}, t0))
    for index, url in enumerate(run["spec"]["urls"]):
        rows.setdefault(index, table_row({"index": index, "url": url, "state": "pending"}, t0))
    chosen = [rows[i] for i in sorted(rows) if state is None or rows[i]["state"] == state]
    present = [r for r in chosen if r[sort] not in (None, DASH)]  # no executor yet: last
    missing = [r for r in chosen if r[sort] in (None, DASH)]
    present.sort(key=lambda r: (r[sort], r["index"]), reverse=desc)
    return [r["index"] for r in present + missing]


def all_pages(http, run_id: str, **params) -> list[int]:
    indexes, offset = [], 0
    while True:
        page = http.get(
            f"/api/runs/{run_id}/tasks", query_string=params | {"offset": offset, "limit": 37}
        ).get_json()
        indexes += [row["index"] for row in page["rows"]]
        offset += 37
        if offset >= page["matched"]:
            assert len(indexes) == page["matched"]
            return indexes


@pytest.mark.parametrize("sort", SORT_KEYS)
def test_every_sort_and_filter_pages_through_every_row_once_in_order(private, sort):
    client, http = private
    run_id = mixed_run(client, 300, ended=220, running=7)  # ended, running and pending rows
    for desc in (False, True):
        for state in (None, "ok", "error", "running", "pending"):
            params = {"sort": sort, "order": "desc" if desc else "asc"}
            if state:
                params["state"] = state
            expected = reference_rows(client, run_id, sort, desc, state)
            assert all_pages(http, run_id, **params) == expected, (sort, desc, state)


def test_a_page_of_the_table_reads_the_same_for_300_tasks_and_20000(private):
    client, http = private
    small, big = mixed_run(client, 300), mixed_run(client, BIG)
    cost = {}
    for name, run_id in (("small", small), ("big", big)):
        url = f"/api/runs/{run_id}/tasks?sort=duration&order=desc&state=ok&offset=100"
        assert http.get(url).status_code == 200  # the first read builds this process's columns
        cost[name] = sent_bytes(client, lambda u=url: http.get(u))
    assert cost["big"] <= 1.5 * cost["small"] + 1024, cost
    html = http.get(f"/runs/{big}").get_data()
    assert len(html) < 150_000, "the run page embeds one page of rows, not the run"


def test_a_live_timeline_poll_sends_only_the_bars_that_ended_since(private):
    client, http = private
    run_id = mixed_run(client, 1000, ended=600, running=4)
    first = http.get(f"/api/runs/{run_id}/timeline?since=0").get_json()
    assert first["mode"] == "bars" and first["ended"] == 600
    assert sorted(first["bars"]["index"]) == list(range(600))
    assert len(first["running"]["index"]) == 4
    again = http.get(f"/api/runs/{run_id}/timeline?since=600").get_json()
    assert again["bars"]["index"] == [] and len(again["running"]["index"]) == 4
    poll = sent_bytes(client, lambda: http.get(f"/api/runs/{run_id}/timeline?since=600"))
    assert poll < 4096, poll


def test_a_big_timeline_is_lanes_binned_over_time_and_zooms_down_to_bars(private):
    client, http = private
    run_id = mixed_run(client, BIG)
    whole = http.get(f"/api/runs/{run_id}/timeline").get_json()
    assert whole["mode"] == "bins" and whole["final"] is True
    bins = whole["bins"]
    assert len(whole["lanes"]) == 2 and len(bins["busy"]) == 2
    assert all(len(row) == bins["count"] for row in bins["busy"])
    assert sum(map(sum, bins["ended"])) == BIG
    failed = sum(1 for t in load_run(client, run_id)["tasks"] if t["state"] != "ok")
    assert sum(map(sum, bins["failed"])) == failed
    # Two lanes, back to back: every bin but the edges is fully busy.
    assert min(min(row[1:-1]) for row in bins["busy"]) > 0.95
    window = (10.0, 11.0)  # 0.05 s tasks on 2 lanes: about 40 bars
    zoomed = http.get(f"/api/runs/{run_id}/timeline?from={window[0]}&to={window[1]}").get_json()
    assert zoomed["mode"] == "bars"
    tasks = load_run(client, run_id)["tasks"]
    t0 = min(t["started_at"] for t in tasks)
    expected = sorted(
        t["index"]
        for t in tasks
        if t["started_at"] - t0 <= window[1] and t["finished_at"] - t0 >= window[0]
    )
    assert sorted(zoomed["bars"]["index"]) == expected and 30 <= len(expected) <= 50
    assert len(http.get(f"/api/runs/{run_id}/timeline").get_data()) < 150_000


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("tasks?sort=nope", "sort"),
        ("tasks?order=up", "order"),
        ("tasks?state=fine", "state"),
        ("tasks?limit=0", "limit"),
        ("tasks?limit=5000", "limit"),
        ("tasks?offset=-1", "offset"),
        ("timeline?from=abc", "from"),
        ("timeline?to=inf", "to"),
        ("timeline?since=x", "since"),
    ],
)
def test_bad_table_and_timeline_queries_are_400_with_the_field(private, query, field):
    client, http = private
    run_id = mixed_run(client, 20)
    response = http.get(f"/api/runs/{run_id}/{query}")
    assert response.status_code == 400
    assert response.get_json()["field"] == field and response.get_json()["error"]


def test_unknown_runs_are_404(private):
    _, http = private
    for what in ("tasks", "timeline"):
        response = http.get(f"/api/runs/0123456789ab/{what}")
        assert response.status_code == 404 and "no run" in response.get_json()["error"]


def sent_bytes(client: redis_lib.Redis, read) -> int:
    before = client.info("stats")["total_net_output_bytes"]
    read()
    return client.info("stats")["total_net_output_bytes"] - before
