"""The footprint scenario: worker and web RSS, and Redis bytes per stored task."""

from __future__ import annotations

import time

import psutil
from rq.job import Job

from bench.baselines import enqueue_bare, run_bare
from bench.measure import (
    MB,
    Ctx,
    fanout_run,
    newest_run_id,
    urls,
    used_memory,
    wait_rq_jobs_expired,
)
from bench.model import Outcome, fmt
from fanout.children import wait_until


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
        before = used_memory(stack)
        fanout_run(ctx, urls(origin, n, 0, 64), "asyncio", 200)
        wait_rq_jobs_expired(stack, newest_run_id(stack))
        rows["async"].add(value=(used_memory(stack) - before) / n)
        fanout_run(ctx, urls(origin, 200, 50), "threads", 32)
        time.sleep(2)
        rows["used"].add(value=_rss_mb(stack.worker_pids()[0]))
        ctx.workers(2)
        before = used_memory(stack)
        fanout_run(ctx, urls(origin, n, 0, 64), "queue", 1)
        wait_rq_jobs_expired(stack, newest_run_id(stack))
        rows["queue"].add(value=(used_memory(stack) - before) / n)
        ctx.workers(2, "bare")
        before = used_memory(stack)
        run_bare(stack, "bench.jobs.fetch", [(u,) for u in urls(origin, n, 0, 64)])
        rows["bare_job"].add(value=(used_memory(stack) - before) / n)
        before = used_memory(stack)
        args = [(u,) for u in urls(origin, n, 0, 64)]
        job_keys = [Job.key_for(i) for i in enqueue_bare(stack, "bench.jobs.fetch", args, 0)[1]]

        def expired(k: list[str] = job_keys) -> bool:
            return stack.client.exists(*k) == 0

        wait_until(expired, 300, "result_ttl=0 jobs")
        time.sleep(0.3)
        rows["bare_job0"].add(value=(used_memory(stack) - before) / n)
        web = stack.web_proc()
        if web is not None:
            for _ in range(5):
                _get(stack.start_web() or "", "/api/runs")
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
        out.check(
            f"{series.label} <= {bound} {unit}",
            fmt(value, 1),
            fmt(base, 1),
            None if value is None else value <= bound,
        )
    if stack.web_proc() is None:
        out.notes.append(f"web app not measured: {stack.web_error}")
    return out


def _get(base_url: str, path: str) -> None:
    import requests

    if base_url:
        requests.get(base_url + path, timeout=10)
