"""Submit through the API, let the session's two real workers run it, read it back as pages."""

from __future__ import annotations

import re

from producer.wait import wait_for_run
from tests.support import wait_until
from tests.web.schema import assert_matches


def test_a_run_submitted_through_the_api_finishes_and_renders(
    client, redis_client, workers, origin_url, settings
):
    urls = [f"{origin_url}/delay/100?bytes=2048&n={i}" for i in range(10)]
    response = client.post(
        "/api/runs", json={"urls": urls, "strategy": "threads", "concurrency": 5}
    )
    assert response.status_code == 202
    run_id = response.get_json()["id"]
    wait_for_run(redis_client, run_id, timeout_s=60)

    record = client.get(f"/api/runs/{run_id}").get_json()
    assert_matches(settings, "Run", record)
    assert record["state"] == "done" and record["counts"]["ok"] == 10
    assert record["summary"]["efficiency"] is not None

    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    rows = re.search(r"<tbody data-rows>(.*?)</tbody>", html, re.S).group(1)
    assert rows.count("<tr>") == 10
    assert rows.count("badge state-ok") == 10
    assert re.search(r'data-field="efficiency">\d+ %<', html)
    assert 'data-state="done"' in html

    csv_lines = client.get(f"/runs/{run_id}.csv").get_data(as_text=True).strip().splitlines()
    assert len(csv_lines) == 11 and all(",ok," in line for line in csv_lines[1:])


def test_workers_and_throughput_show_the_live_workers(client, workers, settings):
    overview = client.get("/api/workers").get_json()
    assert_matches(settings, "Workers", overview)
    assert overview["live"] >= 2
    alive = [w for w in overview["workers"] if w["alive"]]
    assert len(alive) >= 2 and all(w["pid"] and w["host"] for w in alive)

    def seen_in_series():
        series = client.get("/api/stats?window=60").get_json()
        return max(series["workers"]) >= 2 and series

    series = wait_until(seen_in_series, 10, "2 workers in the live-worker series")
    assert series["live_workers"] >= 2
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r"^fanout_live_workers [2-9]", metrics, re.M)


def test_throughput_counts_the_tasks_that_ended(client, redis_client, workers, origin_url):
    urls = [f"{origin_url}/delay/0?n={i}" for i in range(6)]
    response = client.post("/api/runs", json={"urls": urls, "strategy": "queue"})
    wait_for_run(redis_client, response.get_json()["id"], timeout_s=60)

    def counted():
        return client.get("/api/stats?window=60").get_json()["total_tasks"] >= 6

    wait_until(counted, 5, "the run's tasks in the throughput series")
    overview = client.get("/api/workers").get_json()
    assert sum(w["jobs_done"] for w in overview["workers"]) >= 6
