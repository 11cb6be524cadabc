"""A run's cost beside its time: the run page's cost cards, the compare page's cost table, the
API's `cost` (per host and in total) and the exports, from cost hashes written as workers write
them (`worker.cost_book`)."""

from __future__ import annotations

import json
import re

from contract import keys
from contract.cost import WorkerCost
from contract.states import Strategy, TaskState
from tests.web.records import comparison_runs, write_comparison, write_run
from tests.web.schema import assert_matches

MIB = 2**20


def a_worker(host: str, added_mib: float, processes: int, threads: int) -> str:
    return WorkerCost(
        host=host,
        jobs=1,
        memory_idle_bytes=50 * MIB,
        memory_peak_bytes=int((50 + added_mib) * MIB),
        memory_added_bytes=int(added_mib * MIB),
        processes=processes,
        processes_started=processes - 1,
        threads=threads,
        threads_started=16,
        ctx_switches_voluntary=2215,
        ctx_switches_involuntary=652,
        cpu_user_s=0.125,
        cpu_system_s=0.375,
        samples=9,
    ).to_json()


def a_run(redis_client, strategy: Strategy, **workers: str) -> str:
    urls = [f"http://127.0.0.1:9/x?n={i}" for i in range(4)]
    run_id = write_run(redis_client, urls, [TaskState.OK] * 4, strategy=strategy)
    if workers:
        redis_client.hset(keys.cost_key(run_id), mapping=workers)
    return run_id


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_api_has_the_cost_per_host_and_in_total(client, redis_client, settings):
    run_id = a_run(
        redis_client,
        Strategy.PROCESSES,
        w1=a_worker("h1", 150.0, 17, 88),
        w2=a_worker("h2", 2.0, 1, 20),
    )
    record = client.get(f"/api/runs/{run_id}?tasks=false").get_json()
    assert_matches(settings, "Run", record)
    assert_matches(settings, "Cost", record["cost"])
    cost = record["cost"]
    assert set(cost["hosts"]) == {"h1", "h2"}
    assert cost["hosts"]["h1"]["processes"] == 17
    assert cost["total"]["processes"] == 18
    assert cost["total"]["memory_added_bytes"] == 152 * MIB
    assert cost["total"]["cpu_system_s"] == 0.75


def test_a_run_without_a_measured_cost_has_none(client, redis_client):
    run_id = a_run(redis_client, Strategy.THREADS)
    assert client.get(f"/api/runs/{run_id}?tasks=false").get_json()["cost"] is None
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    assert re.search(r"<div data-cost [^>]*hidden", html)


def test_the_run_page_shows_the_cost_cards(client, redis_client):
    run_id = a_run(
        redis_client,
        Strategy.PROCESSES,
        w1=a_worker("h1", 150.0, 17, 88),
        w2=a_worker("h2", 2.0, 1, 20),
    )
    html = client.get(f"/runs/{run_id}").get_data(as_text=True)
    section = html[
        html.index("<div data-cost ") : html.index("</section>", html.index("data-cost"))
    ]
    assert "hidden" not in section.split(">", 1)[0]
    text = text_of(section)
    assert "Memory added +152.0 MiB" in text
    assert "peak 252.0 MiB over the idle worker's 100.0 MiB" in text
    assert "Processes 18 16 started for the run" in text
    assert "Context switches 4,430 / 1,304" in text
    hosts = text_of(html[html.index("data-cost-hosts") :].split("</p>", 1)[0])
    assert "h1 +150.0 MiB, 17 processes, 88 threads; h2 +2.0 MiB, 1 processes" in hosts


def test_the_compare_page_has_a_cost_row_per_strategy(client, redis_client):
    threads = a_run(redis_client, Strategy.THREADS)
    processes = a_run(redis_client, Strategy.PROCESSES)
    urls = [f"http://127.0.0.1:9/x?n={i}" for i in range(4)]
    comparison_id = write_comparison(redis_client, urls, [threads, processes])
    # The comparison's own runs (write_comparison submits them afresh) get the workers' costs.
    costs = [a_worker("h", 1.5, 1, 21), a_worker("h", 150.0, 17, 88)]
    for run_id, cost in zip(comparison_runs(redis_client, comparison_id), costs, strict=True):
        redis_client.hset(keys.cost_key(run_id), mapping={"w": cost})
    html = client.get(f"/compare/{comparison_id}").get_data(as_text=True)
    rows = {
        strategy: text_of(row).strip()
        for strategy, row in re.findall(r'data-cost-strategy="(\w+)">(.*?)</tr>', html, re.S)
    }
    assert rows["threads"] == "threads +1.5 MiB 1 (0) 21 (16) 2,215 / 652 0.125 s / 0.375 s"
    assert rows["processes"].split()[:5] == ["processes", "+150.0", "MiB", "17", "(16)"]


def test_the_exports_carry_the_cost(client, redis_client):
    run_id = a_run(redis_client, Strategy.THREADS, w=a_worker("h", 1.5, 1, 21))
    record = json.loads(client.get(f"/runs/{run_id}.json").get_data(as_text=True))
    assert record["cost"]["total"]["threads"] == 21
    trace = json.loads(client.get(f"/runs/{run_id}.trace.json").get_data(as_text=True))
    assert trace["otherData"]["cost"]["hosts"]["h"]["memory_added_bytes"] == int(1.5 * MIB)
