"""Load through the web API: 50 clients submit 500 small runs of mixed strategies to a private
stack (gunicorn with 2 processes, 2 workers, its own Redis) and poll them to the end.

Every run must complete with each task recorded exactly once (tests/checker.py). Latencies and
Redis memory are measured and printed, not asserted: they depend on the machine. What is
asserted about memory is that it is bounded: every fanout key expires, except the documented
sets and streams that their writers trim instead.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from contract import keys
from contract.states import Strategy
from tests.checker import check_run
from tests.reliability.conftest import UNLIMITED, figure

CLIENTS = 50
RUNS = 500
DEADLINE_S = 120
POLL_S = 0.5
#: Keys trimmed by their writers rather than expired: the run index (on submission), the
#: heartbeats and spans (by the workers' housekeeping, after the one-hour history), the hosts
#: (by the supervisors, which drop silent ones and themselves on a stop), and the work lists the
#: housekeeping drains (ended runs, comparisons with runs to release); and the two streams the
#: CLI waits on (run ends, worker beats), capped by length at every write (keys.STREAM_KEPT).
UNEXPIRED = {
    keys.runs_index_key(),
    keys.alive_workers_key(),
    keys.hosts_key(),
    keys.host_info_key(),
    keys.worker_spans_key(),
    keys.ended_runs_key(),
    keys.active_comparisons_key(),
    keys.run_ends_key(),
    keys.worker_beats_key(),
}


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return (
        f"p50 {cuts[49] * 1000:.0f} ms, p95 {cuts[94] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms"
    )


@pytest.mark.slow  # 500 runs from 50 clients
def test_fifty_clients_submit_five_hundred_runs_and_every_one_completes(private_stack, origin_url):
    stack = private_stack(FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    web = stack.add_web(processes=2)
    stack.add_workers(2)
    strategies = itertools.cycle(list(Strategy))
    sizes = itertools.cycle([2, 3, 4])
    plan = [
        {
            "urls": [f"{origin_url}/delay/20?run={r}&n={n}" for n in range(size)],
            "strategy": strategy.value,
            "concurrency": 2,
        }
        for r, strategy, size in zip(range(RUNS), strategies, sizes, strict=False)
    ]
    submit_s: list[float] = []
    read_s: list[float] = []
    run_ids: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + DEADLINE_S

    def client(c: int) -> None:
        session = requests.Session()
        mine: list[str] = []
        for body in plan[c::CLIENTS]:
            t0 = time.perf_counter()
            response = session.post(f"{web.url}/api/runs", json=body, timeout=30)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 202, response.text
            mine.append(response.json()["id"])
            with lock:
                submit_s.append(elapsed)
        pending = list(mine)
        while pending:
            assert time.monotonic() < deadline, f"client {c}: {len(pending)} runs not done"
            for run_id in list(pending):
                t0 = time.perf_counter()
                response = session.get(f"{web.url}/api/runs/{run_id}?tasks=false", timeout=30)
                elapsed = time.perf_counter() - t0
                assert response.status_code == 200, response.text
                with lock:
                    read_s.append(elapsed)
                if response.json()["state"] == "done":
                    pending.remove(run_id)
            time.sleep(POLL_S)
        with lock:
            run_ids.extend(mine)

    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, c) for c in range(CLIENTS)]:
            future.result()
    wall_s = time.monotonic() - started

    assert len(run_ids) == RUNS
    tasks = 0
    for run_id in run_ids:
        counts = check_run(stack.client, run_id)
        ok = counts.get("ok", 0)
        assert ok == sum(v for k, v in counts.items() if k != "duplicates"), (run_id, counts)
        tasks += ok

    no_ttl = [
        key.decode()
        for key in stack.client.scan_iter(f"{keys.PREFIX}*", count=1000)
        if stack.client.ttl(key) == -1
    ]
    assert set(no_ttl) <= UNEXPIRED, sorted(set(no_ttl) - UNEXPIRED)[:20]
    fanout_keys = sum(1 for _ in stack.client.scan_iter(f"{keys.PREFIX}*", count=1000))
    rq_no_ttl = sorted(
        key.decode()
        for key in stack.client.scan_iter(f"{keys.RQ_PREFIX}*", count=1000)
        if stack.client.ttl(key) == -1
    )
    memory = stack.client.info("memory")
    figure(
        f"load: {CLIENTS} clients, {RUNS} runs ({tasks} tasks, mixed strategies) "
        f"all done in {wall_s:.1f} s, 0 lost, 0 counted twice"
    )
    figure(f"load: submit latency {percentiles(submit_s)} ({len(submit_s)} POSTs)")
    figure(f"load: read latency {percentiles(read_s)} ({len(read_s)} GETs)")
    figure(
        f"load: Redis used_memory {memory['used_memory_human']} "
        f"(peak {memory['used_memory_peak_human']}), {fanout_keys} fanout keys, "
        f"without TTL: {sorted(no_ttl)}; rq keys without TTL: {len(rq_no_ttl)} "
        f"({', '.join(rq_no_ttl[:6])}{', ...' if len(rq_no_ttl) > 6 else ''})"
    )
