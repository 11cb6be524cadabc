"""The scale scenario: one hybrid run each of 1,000, 10,000 and 100,000 tiny tasks
(`/delay/0`), submitted through the web API of the private stack, and what each size costs.

Per size, in turn: the submission (POST /api/runs with the URLs as JSON, until its 202), tasks/s
from the run's own summary, Redis bytes per stored task, and the web worker's peak RSS through
the run and its first reads. Then, once every size has run, the run page's reads and fresh page
loads in headless Chromium, the sizes interleaved so that each sees the same machine: it is
shared, and its load moves in minutes. The table has a row per measurement and a column per
size.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from bench.measure import (
    MB,
    Ctx,
    busy_s,
    hybrid_chunks,
    others_cores,
    submit_only,
    urls,
    used_memory,
    wait_rq_jobs_expired,
)
from bench.model import Outcome, Series, fmt, ratio, within
from bench.webload import (
    PageLoad,
    load_run_page,
    run_page_browser,
    session,
    timed_get,
    web_rss_peak,
)
from contract import jobs, keys
from fanout.children import wait_until
from producer.wait import run_state

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SIZES = (1_000, 10_000, 100_000)
#: The sizes when the scenario is named with `--quick` (it is left out of the CI smoke).
QUICK_SIZES = (1_000, 5_000)
WORKERS = 4
#: Threads per hybrid job: the API's default concurrency.
CONCURRENCY = 8
#: The run list's page (`/api/runs?limit=50`).
LISTED_RUNS = 50
#: Runs whose tasks/s is measured, per size: a 1,000-task run lasts about a second and a half,
#: so one of them is noise (0.88x and 1.38x of the 100,000 rate in two runs of this scenario).
#: The median of these is the size's rate; the first is the one every other row measures.
RATE_RUNS = {1_000: 7, 10_000: 3}
#: (full, quick) counts of the rounds of reads measured, of the warm-up rounds before them, and
#: of the rounds of page loads.
GETS, WARM, LOADS = (20, 5), (3, 1), (3, 1)

#: (metric, what the row says, path): the reads, `{id}` the run's id, `{offset}` the run list's
#: offset at which the size's run is the newest (see `_fill_run_list`).
READS = (
    ("get_summary_ms", "GET summary /api/runs/<id>?tasks=false, ms", "/api/runs/{id}?tasks=false"),
    (
        "get_table_ms",
        "GET a table page /api/runs/<id>/tasks?offset=500&limit=100&sort=duration&order=desc, ms",
        "/api/runs/{id}/tasks?offset=500&limit=100&sort=duration&order=desc",
    ),
    ("get_timeline_ms", "GET timeline /api/runs/<id>/timeline, ms", "/api/runs/{id}/timeline"),
    (
        "get_timeline_since_ms",
        "GET timeline as the page first asks for it, /api/runs/<id>/timeline?since=0, ms",
        "/api/runs/{id}/timeline?since=0",
    ),
    ("get_list_ms", "GET run list /api/runs?limit=50, ms", "/api/runs?limit=50&offset={offset}"),
)

#: (metric, what the row says), in the table's order.
ROWS = (
    ("load1", "load average (1 min) as the size's run started"),
    ("others", "cores other processes kept busy, POST to done (of 2)"),
    ("submit_s", "submit: POST /api/runs until 202, s"),
    ("wall_s", "first task start to last task end (summary.wall_s), s"),
    ("tput", "tasks/s = tasks / summary.wall_s (median over RATE_RUNS runs of the size)"),
    ("origin_cpu", "origin CPU over the run (cores)"),
    ("redis_done_b", "Redis used_memory growth per task, at done (RQ's jobs still held), B"),
    ("redis_kept_b", "Redis used_memory growth per task, once RQ's finished jobs expired, B"),
    ("redis_keys_b", "Redis MEMORY USAGE of the run's keys per task (exact), B"),
    ("web_rss_mb", "web: peak RSS of the gunicorn worker, run and first reads, MB"),
    ("first_timeline_ms", "first GET of the timeline after the run (columns read), ms"),
    ("first_table_ms", "first GET of that table page (its sort), ms"),
    *((metric, label) for metric, label, _ in READS),
    ("drawn_ms", "browser: navigation start to timeline drawn, ms"),
    ("asked_ms", "browser: navigation start to the page's timeline request, ms"),
    ("answer_ms", "browser: the page's timeline request, until its answer, ms"),
    ("draw_ms", "browser: the answer to timeline drawn, ms"),
    ("page_cpu_ms", "browser: the page's main-thread CPU time once drawn (CDP ThreadTime), ms"),
    ("js_heap_mb", "browser: JS heap used once drawn (CDP JSHeapUsedSize), MB"),
)


@dataclass
class SizeRun:
    """One size's run, and what was measured of it."""

    count: int
    run_id: str = ""
    sample: dict[str, float] = field(default_factory=dict)
    gets: dict[str, list[float]] = field(default_factory=dict)
    loads: list[PageLoad] = field(default_factory=list)
    #: tasks/s of each of the size's runs (`RATE_RUNS`).
    rates: list[float] = field(default_factory=list)


def _run_keys_bytes(ctx: Ctx, run_id: str) -> int:
    """MEMORY USAGE of every key of the run, SAMPLES 0: every element counted, not estimated."""
    client = ctx.stack.client
    return sum(int(client.memory_usage(key, samples=0) or 0) for key in keys.run_keys(run_id))


def _fill_run_list(ctx: Ctx, sizes: int) -> int:
    """One-URL runs until the run list holds LISTED_RUNS + sizes runs. Once every size has run,
    the list at offset k (k = how many sizes ran after this one) then starts with the size's
    run, 50 long: what `/api/runs?limit=50` answered right after its run, read again beside
    the other sizes'."""
    stack = ctx.stack
    missing = LISTED_RUNS + sizes - int(stack.client.zcard(keys.runs_index_key()))
    one = urls(stack.origin_url, 1, 0, 64)
    run_ids = [submit_only(stack, one, "threads", 1) for _ in range(max(0, missing))]
    for run_id in run_ids:
        wait_until(partial(_done, ctx, run_id), 120, "a 1-URL run")
    return max(0, missing)


def _done(ctx: Ctx, run_id: str) -> bool:
    return run_state(ctx.stack.client, run_id)[0] == "done"


def _batch(origin_url: str, count: int) -> list[str]:
    return [f"{origin_url}/delay/0?i={i:05d}" for i in range(count)]


def _rate_runs(ctx: Ctx, web_url: str, size: SizeRun) -> None:
    """The size's further runs, for its rate only: done before the run list is filled, so they
    are older than every run the list reads."""
    for _ in range(RATE_RUNS.get(size.count, 1) - 1):
        run_id = _submit(ctx, web_url, size.count)[0]
        size.rates.append(_rate(ctx, web_url, run_id, size.count))


def _submit(ctx: Ctx, web_url: str, count: int) -> tuple[str, float]:
    """POST the size's batch; (run id, seconds until its 202)."""
    batch = _batch(ctx.stack.origin_url, count)
    body = json.dumps({"urls": batch, "strategy": "hybrid", "concurrency": CONCURRENCY}).encode()
    started = time.perf_counter()
    response = session().post(
        f"{web_url}/api/runs",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"POST /api/runs of {count}: {response.status_code} {response.text}")
    return str(response.json()["id"]), elapsed


def _rate(ctx: Ctx, web_url: str, run_id: str, count: int) -> float:
    """Wait for the run; its tasks/s over its own wall time (first start to last end)."""
    wait_until(partial(_done, ctx, run_id), 1800, f"the {count}-run", 0.05)
    run = session().get(f"{web_url}/api/runs/{run_id}?tasks=false", timeout=300).json()
    if run["counts"].get("ok") != count:
        raise RuntimeError(f"run {run_id}: {run['counts']} of {count}")
    return float(count / run["summary"]["wall_s"])


def _run(ctx: Ctx, web_url: str, size: SizeRun) -> None:
    """Submit, wait, and measure the run, its Redis bytes and its first reads."""
    stack, count, sample, client = ctx.stack, size.count, size.sample, session()
    sample["load1"] = os.getloadavg()[0]
    before, origin_before = used_memory(stack), stack.origin_cpu_s()
    started, cpu_before = time.perf_counter(), busy_s()
    run_id, sample["submit_s"] = _submit(ctx, web_url, count)
    size.run_id = run_id
    size.rates.append(_rate(ctx, web_url, run_id, count))
    sample["others"] = others_cores(cpu_before, busy_s(), time.perf_counter() - started)
    sample["redis_done_b"] = (used_memory(stack) - before) / count
    run = client.get(f"{web_url}/api/runs/{run_id}?tasks=false", timeout=300).json()
    sample["wall_s"] = run["summary"]["wall_s"]
    sample["tput"] = statistics.median(size.rates)
    run_s = run["finished_at"] - run["submitted_at"]
    sample["origin_cpu"] = (stack.origin_cpu_s() - origin_before) / run_s
    sample["redis_keys_b"] = _run_keys_bytes(ctx, run_id) / count
    wait_rq_jobs_expired(stack, run_id)
    sample["redis_kept_b"] = (used_memory(stack) - before) / count
    sample["first_timeline_ms"] = timed_get(client, f"{web_url}/api/runs/{run_id}/timeline")
    path = READS[1][2].format(id=run_id)
    sample["first_table_ms"] = timed_get(client, web_url + path)


def _reads(ctx: Ctx, web_url: str, runs: list[SizeRun]) -> None:
    """Each read of each size in turn, `gets` rounds after `warm` ones; medians kept."""
    client, gets, warm = session(), ctx.size(*GETS), ctx.size(*WARM)
    targets = [
        (size, metric, web_url + path.format(id=size.run_id, offset=len(runs) - 1 - n))
        for n, size in enumerate(runs)
        for metric, _, path in READS
    ]
    for round_ in range(warm + gets):
        for size, metric, url in targets:
            elapsed = timed_get(client, url)
            if round_ >= warm:
                size.gets.setdefault(metric, []).append(elapsed)
    for size in runs:
        size.sample |= {metric: statistics.median(v) for metric, v in size.gets.items()}


def _page_loads(ctx: Ctx, web_url: str, runs: list[SizeRun], browser: Browser) -> None:
    for _ in range(ctx.size(*LOADS)):
        for size in runs:
            size.loads.append(load_run_page(browser, f"{web_url}/runs/{size.run_id}"))
    for size in runs:
        loads = size.loads
        size.sample |= {
            "drawn_ms": statistics.median(p.drawn_ms for p in loads),
            "asked_ms": statistics.median(p.asked_ms for p in loads),
            "answer_ms": statistics.median(p.answered_ms - p.asked_ms for p in loads),
            "draw_ms": statistics.median(p.drawn_ms - p.answered_ms for p in loads),
            "page_cpu_ms": statistics.median(p.main_thread_cpu_ms for p in loads),
            "js_heap_mb": statistics.median(p.js_heap_bytes for p in loads) / MB,
        }


def scale(ctx: Ctx) -> Outcome:
    sizes = QUICK_SIZES if ctx.quick else SIZES
    columns = [(f"n{n}", f"{n:,} tasks") for n in sizes]
    out = Outcome("scale", "1,000 to 100,000 tiny tasks through the web API", columns, ratio=None)
    stack = ctx.stack
    web_url, web = stack.start_web(), stack.web
    if web_url is None or web is None:
        raise RuntimeError(f"the web app is needed: {stack.web_error}")
    ctx.workers(WORKERS)
    runs = [SizeRun(count) for count in sizes]
    for size in runs:
        _rate_runs(ctx, web_url, size)
    filled = _fill_run_list(ctx, len(sizes))
    for size in runs:
        with web_rss_peak(web.pid) as rss:
            _run(ctx, web_url, size)
        size.sample["web_rss_mb"] = rss.worker_bytes / MB
    load_before = os.getloadavg()[0]
    with web_rss_peak(web.pid) as rss, run_page_browser() as browser:
        _reads(ctx, web_url, runs)
        _page_loads(ctx, web_url, runs, browser)
        chromium = browser.version
    rows = {metric: out.new(label) for metric, label in ROWS}
    for size in runs:
        for metric, value in size.sample.items():
            rows[metric].add(**{f"n{size.count}": value})
    _checks(out, rows, sizes[0], sizes[-1])
    out.notes += _notes(ctx, runs, filled, chromium)
    out.notes.append(
        f"Reads and page loads: load average (1 min) {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after; the web worker's peak RSS meanwhile "
        f"{rss.worker_bytes / MB:.0f} MB (master {rss.master_bytes / MB:.0f} MB)."
    )
    return out


def _checks(out: Outcome, rows: dict[str, Series], small: int, big: int) -> None:
    def at(metric: str) -> tuple[float | None, float | None]:
        """The metric's median at the biggest size and at the smallest."""
        return rows[metric].median(f"n{big}"), rows[metric].median(f"n{small}")

    for metric, what in (("get_list_ms", "run list"), ("get_summary_ms", "summary")):
        at_big, at_small = at(metric)
        times = ratio(at_big, at_small)
        target = f"{what} GET at {big:,} tasks <= 1.5 x at {small:,}"
        measured = f"{fmt(at_big)} ms ({fmt(times)}x)"
        out.check(target, measured, f"{fmt(at_small)} ms", within(times, at_most=1.5))
    drawn, drawn_small = at("drawn_ms")
    out.check(
        f"page to timeline drawn at {big:,} tasks <= 2 s",
        f"{fmt(drawn / 1000 if drawn else None)} s",
        f"{fmt(drawn_small / 1000 if drawn_small else None)} s at {small:,}",
        within(drawn, at_most=2000),
    )
    for metric, what in (
        ("redis_keys_b", "run's keys (MEMORY USAGE)"),
        ("redis_kept_b", "used_memory growth, RQ's jobs expired"),
    ):
        value, base = at(metric)
        target = f"Redis per stored task at {big:,}, {what} <= 600 B"
        out.check(
            target, f"{fmt(value)} B", f"{fmt(base)} B at {small:,}", within(value, at_most=600)
        )
    at_big, at_small = at("tput")
    times = ratio(at_big, at_small)
    out.check(
        f"tasks/s at {big:,} within 10 % of tasks/s at {small:,} (or above)",
        f"{fmt(at_big)} ({fmt(times)}x)",
        fmt(at_small),
        within(times, at_least=0.9),
    )


def _rates(size: SizeRun) -> str:
    return "[" + ", ".join(f"{rate:.0f}" for rate in size.rates) + "]"


def _notes(ctx: Ctx, runs: list[SizeRun], filled: int, chromium: str) -> list[str]:
    gets, warm, loads = ctx.size(*GETS), ctx.size(*WARM), ctx.size(*LOADS)
    big = runs[-1].count
    chunks = hybrid_chunks(_batch("http://127.0.0.1:1", big), CONCURRENCY, WORKERS)
    drawn = "; ".join(
        f"{size.count:,}: {size.loads[0].mode} on {size.loads[0].lanes} lanes, drawn at "
        f"{[round(p.drawn_ms) for p in size.loads]} ms"
        for size in runs
    )
    return [
        f"hybrid, {CONCURRENCY} asyncio lanes per job, chunks of {len(chunks[0])} URLs "
        f"({len(chunks):,} jobs at {big:,}), on {WORKERS} fanout workers "
        "(SimpleWorker, as the bench stack runs them) on the bench's private stack; the web app "
        "is the bench's gunicorn, 1 worker process x 4 threads (`fanout up` runs gevent x 2 "
        f"processes). URLs `/delay/0?i=NNNNN`; sizes {', '.join(f'{s.count:,}' for s in runs)}, "
        "one measured run each, in that order, after the further runs that only count for the "
        "rate (tasks/s is the median of "
        + ", ".join(f"{len(s.rates)} runs at {s.count:,} {_rates(s)}" for s in runs)
        + ").",
        "Redis: used_memory (INFO memory) before the POST, then at done and once RQ's finished "
        f"jobs expired ({jobs.RESULT_TTL_S} s result TTL), divided by the tasks; MEMORY USAGE "
        "SAMPLES 0 of `contract.keys.run_keys(run_id)` is the run's own keys, exactly.",
        "The web worker's RSS is sampled every 50 ms from the POST to the first reads; it keeps "
        "the columns of the runs read (`web.columns_cache`), so a bigger size's peak includes "
        "the smaller runs'. The first GETs come right after the run: the web process reads the "
        "run's columns, then sorts them for the table page.",
        f"Then every size's reads in turn, {warm} warm-up round(s) and the median of {gets}, on "
        f"one keep-alive client. {filled} one-URL runs were added first, so that the run list "
        "read for a size (at the offset where its run is the newest) holds the 50 runs "
        "`/api/runs?limit=50` answered right after that run: its own and the 49 before.",
        f"Browser: Chromium {chromium} headless, {loads} round(s) of fresh contexts over the "
        "sizes, after the reads; `drawnAt` of the final timeline, and the page's own timeline "
        f"request from Resource Timing. {drawn}.",
    ]
