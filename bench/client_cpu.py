"""The client-cpu scenario: the fetching process's CPU per tiny task, fanout's asyncio
and threads paths beside the bare libraries they are built on.

Each arm is its own interpreter (`python -m bench.client_cpu ARM ARGS_JSON`), started once: it
fetches a warm-up batch, then one measured batch of `/delay/0` URLs from the bench's origin each
time the bench asks (a line on its stdin), and answers the process's CPU seconds over that batch
(every thread: fanout's recorder flusher, fetch watchdog and resolver threads count too). The
fanout arms run a job's code as a worker does (`worker.jobs.run_tasks`: a real Recorder writing
every start and end to the bench's private Redis, for a run stored by `submit_run`); the bare arms
are one aiohttp ClientSession under a semaphore, and a ThreadPoolExecutor with one `requests`
Session per thread, at the same concurrency. The bench asks the arms in turn, batch by batch, in
reverse order every other round: this machine's CPU speed can change twofold from one second to
the next, and a fanout batch is so measured beside its bare library's within about a second. The
origin's CPU is not the client's and is not counted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.baselines import aiohttp_gather
from bench.jobs import session_get
from bench.measure import Ctx, urls
from bench.model import Outcome, columns, fmt, ratio, within

if TYPE_CHECKING:
    from redis import Redis

    from contract.settings import Settings

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


LABELS = {name: label for name, label, *_ in ARMS}


def client_cpu(ctx: Ctx) -> Outcome:
    cols = [("cpu_us", "client CPU per task, µs"), ("redis_us", "Redis CPU per task, µs")]
    cols += columns("wall_s", "tput")
    title = "client CPU per tiny task: fanout's fetch paths vs the bare libraries"
    out = Outcome("client-cpu", title, cols, ratio="cpu_us")
    n, warm, rounds = ctx.size(2000, 300), ctx.size(200, 50), ctx.size(12, 2)
    origin = ctx.stack.origin_url
    batch, warm_batch = urls(origin, n, 0, 64), urls(origin, warm, 0, 64)
    for _arm, label, _, _, base in ARMS:
        out.new(label, baseline=base is None, ref=LABELS[base] if base else None)
    ctx.workers(0)
    loads: list[float] = []
    bases = {name: base for name, *_, base in ARMS if base}
    paired: dict[str, list[float]] = {name: [] for name in bases}
    arms = {
        name: _Arm(ctx, name, strategy, concurrency, batch, warm_batch, rounds)
        for name, _, strategy, concurrency, _ in ARMS
    }
    try:
        for number in range(rounds):
            loads.append(os.getloadavg()[0])
            cpu: dict[str, float] = {}
            for name, label, *_ in ARMS if number % 2 == 0 else ARMS[::-1]:
                sample = arms[name].measure(number)
                cpu[name] = sample["cpu_us"]
                out.get(label).add(**sample)
            for name, base in bases.items():
                paired[name].append(cpu[name] / cpu[base])
    finally:
        for arm in arms.values():
            arm.close()
    for arm in arms.values():
        arm.check_runs_done()
    for name, base in bases.items():
        label = LABELS[name]
        # The verdict is the median of the ratios measured side by side in each round, not the
        # ratio of each arm's median, which can set a fast second of one arm against a slow one
        # of the other.
        value, bare = out.get(label).median("cpu_us"), out.get(LABELS[base]).median("cpu_us")
        times = statistics.median(paired[name]) if paired[name] else None
        out.check(
            f"{label}: client CPU per task <= {TARGET} x {LABELS[base]}, median of the rounds' "
            "ratios",
            f"{fmt(times)}x ({fmt(value)} µs; ratio of medians {fmt(ratio(value, bare))}x)",
            f"{fmt(bare)} µs",
            within(times, at_most=TARGET),
        )
    out.notes.append(
        f"{n} URLs `/delay/0?bytes=64` per batch, {rounds} rounds of one batch per arm (in "
        "reverse order every other round), each arm one long-lived interpreter warmed up with "
        f"{warm} URLs; CPU = the arm process's user + system time (`time.process_time`, all its "
        "threads) over the batch, per task. The fanout arms run `worker.jobs.run_tasks` "
        "in-process, recording to the bench's Redis; Redis CPU = its `used_cpu_user + "
        "used_cpu_sys` over the batch (no worker running), per task."
    )
    out.notes.append(
        "Ratios per round (fanout / bare of the same round): "
        + "; ".join(
            f"{LABELS[arm]} median {fmt(statistics.median(r), 3)} ({fmt(min(r), 3)}-"
            f"{fmt(max(r), 3)})"
            for arm, r in paired.items()
        )
        + ". Load average (1 min) as each round began: "
        + ", ".join(f"{x:.2f}" for x in loads)
        + "."
    )
    return out


class _Arm:
    """One arm's interpreter: warmed up once, then a measured batch per `measure` call. A fanout
    arm gets a stored run per batch (a run records each task once)."""

    def __init__(
        self,
        ctx: Ctx,
        arm: str,
        strategy: str,
        concurrency: int,
        batch: list[str],
        warm: list[str],
        rounds: int,
    ) -> None:
        self.ctx, self.arm, self.count = ctx, arm, len(batch)
        args: dict[str, Any] = {"urls": batch, "warm": warm, "concurrency": concurrency}
        self.runs: list[str] = []
        stack = ctx.stack
        if arm.startswith("fanout"):
            sizes = [warm] + [batch] * rounds
            stored = (stack.client, stack.settings)
            self.runs = [store_run(*stored, b, strategy, concurrency) for b in sizes]
            args["runs"], args["strategy"] = self.runs, strategy
        args_file = stack.work_dir / f"client-cpu-{arm}.args.json"
        args_file.write_text(json.dumps(args))
        self.log = stack.work_dir / f"client-cpu-{arm}.log"
        self._stderr = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.client_cpu", arm, str(args_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=stack.env,
            text=True,
        )
        self._ask("warm")

    def _ask(self, line: str) -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            tail = self.log.read_text()[-2000:]
            raise RuntimeError(f"client-cpu arm {self.arm} died ({self.proc.wait()}):\n{tail}")
        data: dict[str, float] = json.loads(answer)
        return data

    def measure(self, number: int) -> dict[str, float]:
        redis_cpu = _redis_cpu_s(self.ctx)
        data = self._ask(str(number))
        redis_cpu = _redis_cpu_s(self.ctx) - redis_cpu
        return {
            "cpu_us": data["cpu_s"] / self.count * 1e6,
            "redis_us": redis_cpu / self.count * 1e6,
            "wall_s": data["wall_s"],
            "tput": self.count / data["wall_s"],
        }

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()  # the arm's loop ends at end of input
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def check_runs_done(self) -> None:
        """Every task of the fanout arm's runs recorded, and recorded ok: CPU of a run that
        stopped early, or fetched errors, would flatter it."""
        from contract import keys

        for run_id in self.runs:
            run = self.ctx.stack.client.hgetall(keys.run_key(run_id))
            ok, total = int(run.get(b"n_ok", 0)), int(run.get(b"total", -1))
            if run.get(b"state") != b"done" or ok != total:
                raise RuntimeError(
                    f"client-cpu run {run_id}: {ok}/{total} ok, {run.get(b'state')!r}"
                )


def _redis_cpu_s(ctx: Ctx) -> float:
    """The bench's redis-server's CPU seconds so far: what recording costs there, so a change
    that moved the client's work into Redis's scripts would show."""
    info = ctx.stack.client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def store_run(
    redis: Redis, settings: Settings, batch: Sequence[str], strategy: str, concurrency: int
) -> str:
    """A run record as the web app's submission stores it; its jobs go to a queue no worker
    reads (emptied once the run is stored), since the caller runs the job itself."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    from contract.records import RunSpec
    from contract.states import Strategy
    from producer.submit import submit_run

    queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
    spec = RunSpec(tuple(batch), Strategy(strategy), concurrency)
    run_id = submit_run(redis, queue, spec, settings)
    queue.empty()
    return run_id


# --- the child: one arm, timed -----------------------------------------------------------------

_pool: ThreadPoolExecutor | None = None


def bare_requests(urls_: list[str], concurrency: int) -> None:
    """A pool of `concurrency` threads kept from batch to batch, one keep-alive Session each."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=concurrency)
    list(_pool.map(session_get, urls_))


def fanout_job(urls_: list[str], run_id: str, strategy: str, concurrency: int) -> None:
    """What a worker runs for a one-part run: `worker.jobs.run_tasks`, recorder and all."""
    from contract.plan import RunTasks
    from worker.jobs import run_tasks

    tasks = [[i, url] for i, url in enumerate(urls_)]
    message = RunTasks(run_id, 0, tasks, strategy, concurrency, "fetch")
    run_tasks(*message.to_args())


def main(argv: list[str]) -> None:
    """The arm's loop: `warm` runs the warm-up batch; a round's number runs a measured batch and
    answers its CPU and wall seconds as a JSON line; end of input ends it."""
    arm, args_file = argv
    args = json.loads(Path(args_file).read_text())
    concurrency = args["concurrency"]

    def run(batch: list[str], n: int) -> None:
        if arm.startswith("fanout"):
            fanout_job(batch, args["runs"][n], args["strategy"], concurrency)
        elif arm == "aiohttp":  # one ClientSession per batch (as fanout opens one per job)
            aiohttp_gather(batch, concurrency, gated=True)
        else:
            bare_requests(batch, concurrency)

    for line in sys.stdin:
        if line.strip() == "warm":
            run(args["warm"], 0)
            print(json.dumps({}), flush=True)
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        run(args["urls"], int(line) + 1)
        cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
        print(json.dumps({"cpu_s": cpu_s, "wall_s": wall_s}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
