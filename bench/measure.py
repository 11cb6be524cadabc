"""How one fanout run, one burst of jobs and one batch of URLs are measured, and how busy other
processes kept this machine meanwhile (it may be shared)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import psutil
import redis as redis_lib
from rq import Queue

from bench.baselines import run_bare, run_direct
from bench.stack import Stack, WorkerSet
from contract import jobs, keys
from contract.plan import hybrid_chunk_size, partition
from contract.records import RunSpec
from contract.states import Strategy, Workload
from fanout.children import wait_until
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run

#: Pause between repetitions, so one run's stragglers (recorder threads, horses) are gone.
SETTLE_S = 0.3
MB = 1024 * 1024


@dataclass
class Ctx:
    """What every scenario gets: the stack, the mode and how many times to repeat."""

    stack: Stack
    quick: bool
    reps: int

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def worker_counts(self) -> tuple[int, ...]:
        """The worker counts a scaling scenario steps through."""
        return (1, 2) if self.quick else (1, 2, 4, 8)

    def workers(self, count: int, kind: str = "fanout", cls: str = "simple") -> None:
        self.stack.set_workers(WorkerSet(kind, cls, count))


def urls(origin_url: str, count: int, delay_ms: int, size: int = 1024) -> list[str]:
    return [f"{origin_url}/delay/{delay_ms}?bytes={size}&n={i}" for i in range(count)]


def hybrid_chunks(urls_: list[str], concurrency: int, workers: int) -> list[list[str]]:
    """The URLs of each job fanout's hybrid strategy cuts the batch into on `workers`."""
    spec = RunSpec(tuple(urls_), Strategy.HYBRID, concurrency)
    return [[url for _, url in part] for part in partition(spec, hybrid_chunk_size(spec, workers))]


def ideal_s(count: int, delay_s: float, slots: int) -> float:
    """The nominal lower bound: no batch beats one delay, nor the work spread over every slot."""
    return max(delay_s, count * delay_s / max(1, slots))


def fanout_run(
    ctx: Ctx,
    urls_: list[str],
    strategy: str,
    concurrency: int,
    *,
    workload: str = "fetch",
    delay_s: float | None = None,
    slots: int | None = None,
) -> dict[str, float | None]:
    """Submit one run and wait for it. `wall_s` is submission to the last task's end (what a
    user waits); `span_s` and `summary_eff` are fanout's own summary (first start to last end)."""
    stack = ctx.stack
    origin_before = stack.origin_cpu_s()
    run_id = submit_only(stack, urls_, strategy, concurrency, workload)
    record = wait_for_run(stack.client, run_id, timeout_s=900, poll_s=0.02)
    origin_s = stack.origin_cpu_s() - origin_before
    ok = record["counts"]["ok"]
    if ok != len(urls_):
        raise RuntimeError(f"run {run_id} ({strategy}): {ok}/{len(urls_)} ok: {record['counts']}")
    time.sleep(SETTLE_S)
    wall_s = record["finished_at"] - record["submitted_at"]
    summary = record["summary"]
    return {
        **direct_metrics(wall_s, len(urls_), delay_s, slots, origin_s),
        "summary_eff": summary["efficiency"],
        "span_s": summary["wall_s"],
    }


def direct_metrics(
    wall_s: float, count: int, delay_s: float | None, slots: int | None, origin_s: float
) -> dict[str, float | None]:
    """`origin_cpu` is the origin's CPU over the run in cores (1.0 = one core busy throughout):
    near 1, the single-threaded origin, not the client, bounds the throughput."""
    nominal = ideal_s(count, delay_s, slots) / wall_s if delay_s and slots else None
    return {
        "wall_s": wall_s,
        "tput": count / wall_s,
        "eff": nominal,
        "origin_cpu": origin_s / wall_s,
    }


def direct(
    ctx: Ctx,
    name: str,
    urls_: list[str],
    delay_s: float | None = None,
    slots: int | None = None,
    **kwargs: Any,
) -> dict[str, float | None]:
    """A direct baseline (see `bench.baselines`), measured like a fanout run."""
    wall_s = run_direct(ctx.stack, name, urls_, **kwargs)
    return direct_metrics(wall_s, len(urls_), delay_s, slots, ctx.stack.last_origin_s)


def bare(
    ctx: Ctx,
    func: str,
    arg_lists: list[tuple[Any, ...]],
    count: int,
    delay_s: float | None = None,
    slots: int | None = None,
) -> dict[str, float | None]:
    """A bare-RQ baseline over `count` tasks, measured like a fanout run."""
    times = run_bare(ctx.stack, func, arg_lists)
    sample = direct_metrics(times["e2e_s"], count, delay_s, slots, ctx.stack.last_origin_s)
    return {**sample, "span_s": times["span_s"]}


# --- bursts of jobs: the queue's own cost per job ----------------------------------------------


def command_calls(client: redis_lib.Redis) -> dict[str, int]:
    """Calls of each command (`cmdstat_<name>`) since the last CONFIG RESETSTAT. Commands run
    inside Lua scripts count too: they are work Redis does, though not round trips."""
    return {name: int(stats["calls"]) for name, stats in client.info("commandstats").items()}


def burst(
    ctx: Ctx, kind: str, cls: str, count: int, enqueue: Callable[[], object]
) -> dict[str, float]:
    """Enqueue `count` jobs with no worker listening, then time one burst worker over them."""
    stack = ctx.stack
    ctx.workers(0)
    enqueue()
    stack.client.config_resetstat()
    result = stack.work_dir / "burst.json"
    args = ("-m", "bench.procs", "burst", kind, cls)
    wall_s = stack.timed_child(f"burst-{kind}-{cls}", result, *args)
    calls = command_calls(stack.client)
    time.sleep(SETTLE_S)
    return {
        "per_job_ms": wall_s / count * 1000,
        "jobs_per_s": count / wall_s,
        "cmds_per_job": sum(calls.values()) / count,
        "evalsha_per_job": calls.get("cmdstat_evalsha", 0) / count,
    }


def used_memory(stack: Stack) -> int:
    return int(stack.client.info("memory")["used_memory"])


def newest_run_id(stack: Stack) -> str:
    newest = cast("list[bytes]", stack.client.zrevrange(keys.runs_index_key(), 0, 0))
    return newest[0].decode()


def wait_rq_jobs_expired(stack: Stack, run_id: str) -> None:
    """What stays of a run: RQ keeps its finished jobs (their results and executions too) for
    `jobs.RESULT_TTL_S` only; fanout's own records stay."""
    pattern = f"{keys.RQ_PREFIX}*{keys.job_id_prefix(run_id)}*"
    time.sleep(jobs.RESULT_TTL_S)
    wait_until(
        lambda: next(stack.client.scan_iter(match=pattern, count=10_000), None) is None,
        120,
        "the run's finished RQ jobs to expire",
        poll_s=0.2,
    )
    time.sleep(SETTLE_S)


def enqueue_fanout_noops(stack: Stack, count: int) -> None:
    datas = [Queue.prepare_data(jobs.NOOP, result_ttl=3600) for _ in range(count)]
    fanout_queue(stack.client).enqueue_many(datas)


def submit_only(
    stack: Stack, urls_: list[str], strategy: str, concurrency: int = 8, workload: str = "fetch"
) -> str:
    spec = RunSpec(tuple(urls_), Strategy(strategy), concurrency, Workload(workload))
    return submit_run(stack.client, fanout_queue(stack.client), spec, stack.settings)


# --- the machine's other load -------------------------------------------------------------------


def tree_cpu_s(pids: list[int]) -> float:
    """User + system seconds of these processes, their reaped children and their live ones."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(pid)
            for each in [proc, *proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    t = each.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
    return total


def busy_s() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of the bench's own processes: this
    one, its reaped children (baselines, bursts) and its live descendants (gunicorn's workers
    and Chromium are grandchildren, alive until the end))."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - times.iowait, tree_cpu_s([os.getpid()])


def others_cores(before: tuple[float, float], after: tuple[float, float], seconds: float) -> float:
    """Cores other processes kept busy on average between two `busy_s()` readings."""
    (busy, own), (busy_after, own_after) = before, after
    return max(0.0, (busy_after - busy) - (own_after - own)) / seconds
