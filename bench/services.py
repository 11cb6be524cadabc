"""The service scenarios: the queue's cost per job, submission, reading and footprint."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import psutil
import requests
from rq.job import Job

from bench.baselines import enqueue_bare, run_bare
from bench.measure import (
    MB,
    Ctx,
    burst,
    enqueue_fanout_noops,
    fanout_run,
    newest_run_id,
    submit_only,
    urls,
    used_memory,
    wait_rq_jobs_expired,
)
from bench.model import Outcome, Series, fmt, ratio, within
from bench.webload import session as web_session
from bench.webload import timed_get, timed_ms
from contract import keys
from fanout.children import wait_until
from producer.connection import fanout_queue
from producer.reader import load_run
from producer.wait import wait_for_run

if TYPE_CHECKING:
    from bench.stack import Stack


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def queue_overhead(ctx: Ctx) -> Outcome:
    cols = [
        ("per_job_ms", "ms per job"),
        ("jobs_per_s", "jobs/s"),
        ("cmds_per_job", "Redis commands per job"),
        ("evalsha_per_job", "EVALSHA per job"),
    ]
    out = Outcome(
        "queue-overhead", "the queue's own cost per job (burst worker)", cols, ratio="per_job_ms"
    )
    stack = ctx.stack
    counts = {"simple": ctx.size(300, 40), "fork": ctx.size(120, 20)}
    out.notes.append(
        "Jobs enqueued with enqueue_many before one burst worker starts; ms per job = the worker's "
        "work loop (timed in the worker, imports excluded) / jobs. Redis commands include the "
        "ones Lua scripts run, and fanout's heartbeat and reconciler. "
        f"{counts['simple']} jobs per simple burst, {counts['fork']} per fork burst."
    )
    for cls, count in counts.items():
        tiny = urls(stack.origin_url, count, 0, 64)
        noops, fetches = [()] * count, [(url,) for url in tiny]
        bare_noop, bare_fetch = f"bare RQ noop ({cls})", f"bare RQ fetch /delay/0 ({cls})"
        fan_noop, fan_fetch = f"fanout noop ({cls})", f"fanout run_tasks 1 URL /delay/0 ({cls})"
        plan: list[tuple[str, str | None, str, Callable[[], object]]] = [
            (bare_noop, None, "bare", partial(enqueue_bare, stack, "bench.jobs.noop", noops)),
            (fan_noop, bare_noop, "fanout", partial(enqueue_fanout_noops, stack, count)),
            (bare_fetch, None, "bare", partial(enqueue_bare, stack, "bench.jobs.fetch", fetches)),
            (fan_fetch, bare_fetch, "fanout", partial(submit_only, stack, tiny, "queue")),
        ]
        for label, ref, _, _ in plan:
            out.new(label, baseline=ref is None, ref=ref)
        for _ in range(ctx.reps):
            for label, _, kind, enqueue in plan:
                out.get(label).add(**burst(ctx, kind, cls, count, enqueue))
        for label, ref in ((fan_noop, bare_noop), (fan_fetch, bare_noop), (fan_fetch, bare_fetch)):
            bare = out.get(ref).median("per_job_ms")
            value = ratio(out.get(label).median("per_job_ms"), bare)
            target = f"{label}: per job <= 1.25 x {ref}"
            out.check(target, f"{fmt(value)}x", f"{fmt(bare)} ms", within(value, at_most=1.25))
    return out


def _first_start_latency(stack: Stack, submit: Callable[[], str]) -> tuple[float, float]:
    """(submit call ms, submit -> first task started ms) of a 1-URL run submitted by `submit`."""
    before = time.time()
    run_id = submit()
    called = time.time()
    record = wait_for_run(stack.client, run_id, timeout_s=60, poll_s=0.01)
    first = min(task["started_at"] for task in record["tasks"])
    return (called - before) * 1000, (first - before) * 1000


def _latencies(stack: Stack, submit: Callable[[], str], samples: int) -> dict[str, float]:
    """The median and p95 of `samples` runs' submit -> first task started, and the median call."""
    runs = [_first_start_latency(stack, submit) for _ in range(samples)]
    lat = [r[1] for r in runs]
    return {
        "median_ms": statistics.median(lat),
        "p95_ms": _p95(lat),
        "call_ms": statistics.median(r[0] for r in runs),
    }


def _bare_latency(stack: Stack) -> float:
    queue = stack.queue("bare")
    before = time.time()
    job = queue.enqueue("bench.jobs.noop", result_ttl=3600)
    wait_until(lambda: job.get_status(refresh=True) == "finished", 30, "a bare job")
    job.refresh()
    assert job.started_at is not None, "a finished job has started"
    return (job.started_at.timestamp() - before) * 1000


def submission(ctx: Ctx) -> Outcome:
    cols = [("median_ms", "median ms"), ("p95_ms", "p95 ms"), ("call_ms", "call ms (median)")]
    out = Outcome(
        "submission", "submission to first task started, idle stack", cols, ratio="median_ms"
    )
    stack, samples = ctx.stack, ctx.size(20, 5)
    url = urls(stack.origin_url, 1, 0, 64)
    base = out.new("bare RQ enqueue -> job started (SimpleWorker)", baseline=True)
    fan = out.new("fanout submit_run -> first task started", ref=base.label)
    web_url = stack.start_web()
    web = (
        out.new("web API POST /api/runs -> first task started", ref=base.label) if web_url else None
    )
    big_base = out.new("bare RQ enqueue_many, 2,000 no-op jobs", baseline=True)
    big = out.new("fanout submit_run, queue strategy, 2,000 URLs", ref=big_base.label)
    out.notes.append(
        f"{samples} one-URL runs per repetition, one at a time, on 2 idle workers; "
        "the 2,000-URL submissions have no worker listening (call time only)."
    )
    if not web_url:
        out.notes.append(f"web app not measured: {stack.web_error}")
    for _ in range(ctx.reps):
        ctx.workers(2)
        fan.add(**_latencies(stack, lambda: submit_only(stack, url, "threads", 1), samples))
        if web and web_url:
            web.add(**_latencies(stack, lambda: _post_run(web_url, url), samples))
        ctx.workers(2, "bare")
        lat = [_bare_latency(stack) for _ in range(samples)]
        base.add(median_ms=statistics.median(lat), p95_ms=_p95(lat))
        ctx.workers(0)
        many = urls(stack.origin_url, 2000, 0, 64)
        big.add(call_ms=timed_ms(partial(submit_only, stack, many, "queue")))
        fanout_queue(stack.client).empty()
        noops = partial(enqueue_bare, stack, "bench.jobs.noop", [()] * 2000)
        big_base.add(call_ms=timed_ms(noops))
        stack.queue("bare").empty()
    value = fan.median("median_ms")
    out.check(
        "submit_run -> first task started: median <= 50 ms",
        f"{fmt(value)} ms",
        f"{fmt(base.median('median_ms'))} ms",
        within(value, at_most=50),
    )
    return out


def _post_run(web_url: str, batch: list[str]) -> str:
    body = {"urls": batch, "strategy": "threads", "concurrency": 1}
    response = requests.post(f"{web_url}/api/runs", json=body, timeout=10)
    response.raise_for_status()
    return str(response.json()["id"])


def reading(ctx: Ctx) -> Outcome:
    cols = [("p50_ms", "p50 ms"), ("p95_ms", "p95 ms")]
    out = Outcome(
        "reading", "GET /api/runs/<id> of a finished 2,000-task run", cols, ratio="p95_ms"
    )
    stack, n, calls = ctx.stack, ctx.size(2000, 200), ctx.size(50, 10)
    base = out.new("raw HGETALL x3 in one pipeline (no parsing)", baseline=True)
    direct = out.new("fanout load_run direct (records + summary, uncached)", ref=base.label)
    web_url = stack.start_web()
    label = "web API GET /api/runs/<id> (cached per process)"
    web = out.new(label, ref=base.label) if web_url else None
    ctx.workers(1)
    fanout_run(ctx, urls(stack.origin_url, n, 0, 64), "asyncio", 200)
    run_id = newest_run_id(stack)
    out.notes.append(
        f"{n} tasks, {calls} reads per repetition. GET: one keep-alive HTTP client, the whole "
        "body read, not parsed (as the baseline); the web app under gunicorn, 1 process x 4 "
        "threads, whose cache keeps the finished run after its first read."
    )
    plan: list[tuple[Series, Callable[[], object]]] = [
        (base, lambda: _raw_read(stack, run_id)),
        (direct, lambda: load_run(stack.client, run_id)),
    ]
    if web and web_url:
        session = web_session()
        url = f"{web_url}/api/runs/{run_id}"
        first_ms = timed_get(session, url)
        out.notes.append(f"The first GET (a cache miss): {fmt(first_ms)} ms.")
        plan.append((web, lambda: timed_get(session, url)))
    else:
        out.notes.append(f"web app not measured: {stack.web_error}")
    for _ in range(ctx.reps):
        for series, read in plan:
            times = [timed_ms(read) for _ in range(calls)]
            series.add(p50_ms=statistics.median(times), p95_ms=_p95(times))
    value = web.median("p95_ms") if web else None
    out.check(
        f"GET /api/runs/<id>, {n} tasks: p95 <= 50 ms",
        f"{fmt(value)} ms",
        f"{fmt(base.median('p95_ms'))} ms",
        within(value, at_most=50),
    )
    return out


def _raw_read(stack: Stack, run_id: str) -> None:
    pipe = stack.client.pipeline(transaction=False)
    for key in (keys.run_key(run_id), keys.tasks_key(run_id), keys.running_key(run_id)):
        pipe.hgetall(key)
    pipe.execute()


def _grown_per_task(stack: Stack, count: int, work: Callable[[], object]) -> float:
    """Redis's used_memory growth over `work`, per task, in bytes."""
    before = used_memory(stack)
    work()
    return (used_memory(stack) - before) / count


def _unkept_bare_jobs(stack: Stack, arg_lists: list[tuple[str]]) -> None:
    """Bare fetch jobs with result_ttl=0, until RQ has dropped every one."""
    job_keys = [Job.key_for(i) for i in enqueue_bare(stack, "bench.jobs.fetch", arg_lists, 0)[1]]
    wait_until(lambda: stack.client.exists(*job_keys) == 0, 300, "result_ttl=0 jobs")
    time.sleep(0.3)


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MB


def footprint(ctx: Ctx) -> Outcome:
    cols = [("value", "value")]
    out = Outcome(
        "footprint", "memory: worker and web RSS, Redis bytes per stored task", cols, ratio="value"
    )
    stack, n = ctx.stack, ctx.size(1000, 200)
    origin = stack.origin_url
    rows = {
        "bare": out.new("bare rq.SimpleWorker, idle (MB)", baseline=True),
        "fresh": out.new("fanout simple worker, idle after start (MB)", ref="bare"),
        "used": out.new("fanout simple worker, idle after 2 runs (MB)", ref="bare"),
        "fork": out.new("fanout fork worker, idle (MB)", ref="bare"),
        "web": out.new("web app, one gunicorn worker process (MB)"),
        "web_master": out.new("web app, gunicorn master (MB)"),
        "bare_job": out.new("bare RQ fetch job, Redis bytes per job", baseline=True),
        "bare_job0": out.new("bare RQ fetch job with result_ttl=0, Redis bytes per job"),
        "async": out.new(f"fanout asyncio run of {n}, Redis bytes per task", ref="bare_job"),
        "queue": out.new(f"fanout queue run of {n}, Redis bytes per task", ref="bare_job"),
    }
    for series in rows.values():
        if series.ref in rows:
            series.ref = rows[series.ref].label

    def kept(strategy: str, concurrency: int) -> None:
        """A run of `n`, until RQ has dropped its finished jobs."""
        fanout_run(ctx, urls(origin, n, 0, 64), strategy, concurrency)
        wait_rq_jobs_expired(stack, newest_run_id(stack))

    for _ in range(ctx.reps):
        for key, kind, cls in (
            ("bare", "bare", "simple"),
            ("fork", "fanout", "fork"),
            ("fresh", "fanout", "simple"),
        ):
            ctx.workers(0)
            ctx.workers(1, kind, cls)
            time.sleep(1)
            rows[key].add(value=_rss_mb(stack.worker_pids()[0]))
        rows["async"].add(value=_grown_per_task(stack, n, partial(kept, "asyncio", 200)))
        fanout_run(ctx, urls(origin, 200, 50), "threads", 32)
        time.sleep(2)
        rows["used"].add(value=_rss_mb(stack.worker_pids()[0]))
        ctx.workers(2)
        rows["queue"].add(value=_grown_per_task(stack, n, partial(kept, "queue", 1)))
        ctx.workers(2, "bare")
        fetches = [(u,) for u in urls(origin, n, 0, 64)]
        job = partial(run_bare, stack, "bench.jobs.fetch", fetches)
        rows["bare_job"].add(value=_grown_per_task(stack, n, job))
        unkept = partial(_unkept_bare_jobs, stack, fetches)
        rows["bare_job0"].add(value=_grown_per_task(stack, n, unkept))
        web = stack.web
        if web is not None:
            for _ in range(5):
                requests.get(f"{stack.start_web()}/api/runs", timeout=10)
            rows["web_master"].add(value=_rss_mb(web.pid))
            children = psutil.Process(web.pid).children()
            rows["web"].add(value=max((_rss_mb(c.pid) for c in children), default=None))
    for key, bound, unit in (
        ("fresh", 60, "MB"),
        ("used", 60, "MB"),
        ("web", 100, "MB"),
        ("async", 1024, "B"),
        ("queue", 1024, "B"),
    ):
        series = rows[key]
        value = series.median("value")
        base = out.get(series.ref).median("value") if series.ref else None
        target = f"{series.label} <= {bound} {unit}"
        out.check(target, fmt(value, 1), fmt(base, 1), within(value, at_most=bound))
    if stack.web is None:
        out.notes.append(f"web app not measured: {stack.web_error}")
    return out
