"""The client-cpu scenario: the fetching process's CPU per tiny task, fanout's asyncio
and threads paths beside the bare libraries they are built on.

Each arm runs in a fresh interpreter (`python -m bench.client_cpu ARM RESULT ARGS_JSON`) that
fetches a warm-up batch, then the measured batch of `/delay/0` URLs from the bench's origin, and
reports the process's CPU seconds (every thread: fanout's recorder flusher, fetch watchdog and
resolver threads count too) over the measured batch alone. The fanout arms run a job's code as a
worker does (`worker.jobs.run_tasks`: a real Recorder writing every start and end to the bench's
private Redis, for a run stored by `submit_run`); the bare arms are one aiohttp ClientSession under
a semaphore, and a ThreadPoolExecutor with one `requests` Session per thread, at the same
concurrency. The arms are interleaved within each repetition, so a machine that gets busier
weighs on all of them alike; the origin's CPU is not the client's and is not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.baselines import session_get
from bench.measure import Ctx, urls
from bench.model import Outcome, fmt, ratio

#: The target: fanout's client CPU per task within 1.25x the bare library's.
TARGET = 1.25
ASYNC_C, THREAD_C = 64, 8
#: Private queue the measured runs are stored with: no worker listens on it, the arm runs the job.
QUEUE = "bench-client-cpu"

#: (arm, label, strategy, concurrency, baseline arm or None), in the order each repetition runs.
ARMS = (
    ("aiohttp", f"bare aiohttp C={ASYNC_C}", "asyncio", ASYNC_C, None),
    ("fanout-asyncio", f"fanout asyncio C={ASYNC_C}", "asyncio", ASYNC_C, "aiohttp"),
    ("requests", f"bare requests pool C={THREAD_C}", "threads", THREAD_C, None),
    ("fanout-threads", f"fanout threads C={THREAD_C}", "threads", THREAD_C, "requests"),
)


def _label(arm: str) -> str:
    return next(label for name, label, *_ in ARMS if name == arm)


def client_cpu(ctx: Ctx) -> Outcome:
    cols = [
        ("cpu_us", "client CPU per task, µs"),
        ("redis_us", "Redis CPU per task, µs"),
        ("wall_s", "wall s"),
        ("tput", "tasks/s"),
    ]
    title = "client CPU per tiny task: fanout's fetch paths vs the bare libraries"
    out = Outcome("client-cpu", title, cols, ratio="cpu_us")
    n, warm, reps = ctx.size(2000, 300), ctx.size(200, 50), ctx.size(7, 1)
    batch, warm_batch = (
        urls(ctx.stack.origin_url, n, 0, 64),
        urls(ctx.stack.origin_url, warm, 0, 64),
    )
    for _arm, label, _, _, base in ARMS:
        out.new(label, baseline=base is None, ref=_label(base) if base else None)
    ctx.workers(0)
    loads, paired = [], {name: [] for name, *_, base in ARMS if base}
    for rep in range(reps):
        loads.append(os.getloadavg()[0])
        cpu: dict[str, float] = {}
        # Every other repetition runs the arms in reverse, so a machine that speeds up or slows
        # down within a repetition favours neither side of a pair.
        for arm, label, strategy, concurrency, _base in ARMS if rep % 2 == 0 else ARMS[::-1]:
            sample = _measure(ctx, arm, strategy, concurrency, batch, warm_batch)
            cpu[arm] = sample["cpu_us"]
            out.get(label).add(**sample)
        for arm in paired:
            base = next(b for name, *_, b in ARMS if name == arm)
            paired[arm].append(cpu[arm] / cpu[base])
    for arm, label, _, _, base in ARMS:
        if base is None:
            continue
        # The verdict is the median of the ratios measured side by side in each repetition, not
        # the ratio of each arm's median: this machine's CPU speed can change twofold between
        # repetitions (the bare arm's CPU per task spread 163-269 µs within one run), and the
        # medians of two arms can then come from different speeds.
        value, bare = out.get(label).median("cpu_us"), out.get(_label(base)).median("cpu_us")
        times = statistics.median(paired[arm]) if paired[arm] else None
        out.check(
            f"{label}: client CPU per task <= {TARGET} x {_label(base)}, median of the "
            "repetitions' ratios",
            f"{fmt(times)}x ({fmt(value)} µs; ratio of medians {fmt(ratio(value, bare))}x)",
            f"{fmt(bare)} µs",
            None if times is None else times <= TARGET,
        )
    out.notes.append(
        f"{n} URLs `/delay/0?bytes=64` per arm after {warm} warm-up ones, {reps} repetitions "
        "with the arms interleaved (in reverse order every other repetition); CPU = the "
        "fetching process's user + system time (`time.process_time`, all its threads) over the "
        "measured batch, per task. The fanout "
        "arms run `worker.jobs.run_tasks` in-process, recording to the bench's Redis; Redis CPU "
        "= its `used_cpu_user + used_cpu_sys` over the arm's child (warm-up and measured "
        "batches, no worker running), per task."
    )
    out.notes.append(
        "Ratios per repetition (fanout / bare of the same repetition): "
        + "; ".join(
            f"{_label(arm)} median {fmt(statistics.median(r), 3)} ({fmt(min(r), 3)}-"
            f"{fmt(max(r), 3)})"
            for arm, r in paired.items()
        )
        + ". Load average (1 min) as each repetition began: "
        + ", ".join(f"{x:.2f}" for x in loads)
        + "."
    )
    return out


def _measure(
    ctx: Ctx, arm: str, strategy: str, concurrency: int, batch: list[str], warm: list[str]
) -> dict[str, float]:
    """Run one arm in a fresh interpreter; the fanout arms get a stored run for each batch."""
    stack = ctx.stack
    args: dict[str, Any] = {"urls": batch, "warm": warm, "concurrency": concurrency}
    if arm.startswith("fanout"):
        args["runs"] = [_store_run(ctx, b, strategy, concurrency) for b in (warm, batch)]
        args["strategy"] = strategy
    args_file = stack.work_dir / f"client-cpu-{arm}.args.json"
    args_file.write_text(json.dumps(args))
    result = stack.work_dir / f"client-cpu-{arm}.json"
    result.unlink(missing_ok=True)
    redis_cpu = _redis_cpu_s(ctx)
    child = stack.python(
        f"client-cpu-{arm}", "-m", "bench.client_cpu", arm, str(result), str(args_file)
    )
    code = child.proc.wait(timeout=600)
    redis_cpu = _redis_cpu_s(ctx) - redis_cpu
    if code != 0 or not result.exists():
        raise RuntimeError(f"client-cpu arm {arm} failed ({code}):\n{child.tail()}")
    if arm.startswith("fanout"):
        _check_runs_done(ctx, args["runs"], [len(warm), len(batch)])
    data = json.loads(result.read_text())
    count = len(batch)
    return {
        "cpu_us": data["cpu_s"] / count * 1e6,
        "redis_us": redis_cpu / (count + len(warm)) * 1e6,
        "wall_s": data["wall_s"],
        "tput": count / data["wall_s"],
    }


def _redis_cpu_s(ctx: Ctx) -> float:
    """The bench's redis-server's CPU seconds so far: what recording costs there, so a change
    that moved the client's work into Redis's scripts would show."""
    info = ctx.stack.client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _store_run(ctx: Ctx, batch: list[str], strategy: str, concurrency: int) -> str:
    """A run record as the web app's submission stores it; its jobs go to a queue no worker
    reads (emptied once the run is done), since the arm runs the job itself."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from contract.records import RunSpec
    from contract.states import Strategy
    from producer.submit import submit_run

    stack = ctx.stack
    queue = Queue(QUEUE, connection=stack.client, serializer=JSONSerializer)
    spec = RunSpec(tuple(batch), Strategy(strategy), concurrency)
    run_id = submit_run(stack.client, queue, spec, stack.settings)
    queue.empty()
    return run_id


def _check_runs_done(ctx: Ctx, run_ids: list[str], counts: list[int]) -> None:
    """Every task of the fanout arm's runs recorded, and recorded ok: CPU of a run that
    stopped early, or fetched errors, would flatter it."""
    from contract import keys

    for run_id, count in zip(run_ids, counts, strict=True):
        run = ctx.stack.client.hgetall(keys.run_key(run_id))
        ok = int(run.get(b"n_ok", 0))
        if run.get(b"state") != b"done" or ok != count:
            raise RuntimeError(f"client-cpu run {run_id}: {ok}/{count} ok, {run.get(b'state')}")


# --- the child: one arm, timed -----------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None


def bare_requests(urls_: list[str], concurrency: int) -> None:
    """A pool of `concurrency` threads kept from batch to batch, one keep-alive Session each."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=concurrency)
    list(_pool.map(session_get, urls_))


def bare_aiohttp(urls_: list[str], concurrency: int) -> None:
    """One ClientSession per batch (as fanout opens one per job), `concurrency` in flight."""
    import aiohttp

    async def main() -> None:
        gate = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(url: str) -> None:
                async with gate, session.get(url) as response:
                    await response.read()

            await asyncio.gather(*(one(url) for url in urls_))

    asyncio.run(main())


def fanout_job(urls_: list[str], run_id: str, strategy: str, concurrency: int) -> None:
    """What a worker runs for a one-part run: `worker.jobs.run_tasks`, recorder and all."""
    from contract.plan import RunTasks
    from worker.jobs import run_tasks

    tasks = [[i, url] for i, url in enumerate(urls_)]
    message = RunTasks(run_id, 0, tasks, strategy, concurrency, "fetch")
    run_tasks(*message.to_args())


def main(argv: list[str]) -> None:
    arm, result, args_file = argv
    args = json.loads(Path(args_file).read_text())
    concurrency = args["concurrency"]
    if arm.startswith("fanout"):
        runs, strategy = args["runs"], args["strategy"]

        def run(batch: list[str], n: int) -> None:
            fanout_job(batch, runs[n], strategy, concurrency)
    else:
        bare = bare_aiohttp if arm == "aiohttp" else bare_requests

        def run(batch: list[str], n: int) -> None:
            bare(batch, concurrency)

    run(args["warm"], 0)
    wall, cpu = time.perf_counter(), time.process_time()
    run(args["urls"], 1)
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    Path(result).write_text(json.dumps({"cpu_s": cpu_s, "wall_s": wall_s}))


if __name__ == "__main__":
    main(sys.argv[1:])
