"""The peers scenario: fanout beside the job queues a user already knows (Celery, Dramatiq, arq),
on the same origin, the same task body and the same completion rule.

Each peer gets a private redis-server of its own (same build and flags as the stack's: no
persistence), so INFO commandstats counts one system alone; Celery also runs on the machine's
RabbitMQ when one answers on 127.0.0.1:5672 (guest/guest), on a queue of its own name that is
deleted afterwards. The bench starts each peer's worker processes per workload (subprocesses in
their own process group) and stops them after it; every arm runs while the other systems'
workers idle (their CPU and commands are not counted in it, only their share of the machine;
they are not paused with SIGSTOP: an arq worker stopped and continued so died in a trial run).
One driver runs them all: what differs is each system's module, `bench.peer_<system>` (its
worker commands for a workload's tuning, `workers`, and its enqueuing of a round, `enqueuer`).

Completion rule, the same for all: the wall time runs from the first enqueue (fanout: the run's
`submitted_at`) to the last task's end as the system's own tasks record it (peers: the task whose
INCR brings the round's counter to its total pushes its end time, see `bench.peer_body`; fanout:
the run record's `finished_at`). Worker CPU is user + system time of the worker processes and
all their children (psutil) over the arm; Redis commands are the INFO commandstats delta over
the arm, the bench's own waiting subtracted (commands inside Lua scripts count: work Redis does).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import redis as redis_lib

from bench import peer_body
from bench.measure import SETTLE_S, Ctx, command_calls, ideal_s, submit_only, tree_cpu_s, urls
from bench.model import Outcome, columns, fmt
from fanout.children import Child
from producer.reader import load_run
from producer.wait import run_state

RABBIT_URL = "amqp://guest:guest@127.0.0.1:5672//"
COLUMNS = columns("tput", "wall_s", "eff")
COLUMNS += [("cpu_ms", "worker CPU per task, ms"), ("cmds", "Redis commands per task")]
#: A peer's round that has not ended by then is given up, and the peer with it.
ROUND_TIMEOUT_S = 120
#: Every arm's slots in the I/O-wait workload.
IO_SLOTS = 32


@dataclass
class Shape:
    """One workload and how every system is tuned for it."""

    title: str
    delay_ms: int
    body_bytes: int
    workload: str
    n_full: int
    n_quick: int
    #: (label, strategy, concurrency) of fanout's arms, on 2 workers.
    fanout: list[tuple[str, str, int]]
    #: Each peer system's tuning, the arguments after the peer's name and queue of its module's
    #: `workers`: Celery (pool, concurrency per instance, instances, prefetch multiplier),
    #: Dramatiq (processes, threads per process), arq (processes, max_jobs per process).
    tuning: dict[str, tuple[Any, ...]]
    slots: int | None = None


SHAPES = [
    Shape(
        "/delay/0",
        0,
        64,
        "fetch",
        1200,
        200,
        [
            ("fanout asyncio C=64 (one job)", "asyncio", 64),
            ("fanout hybrid W=2 x 8", "hybrid", 8),
            ("fanout queue W=2 (one RQ job per URL)", "queue", 1),
        ],
        {"celery": ("threads", 8, 2, 16), "dramatiq": (2, 8), "arq": (2, 32)},
    ),
    Shape(
        "/delay/100",
        100,
        1024,
        "fetch",
        480,
        96,
        [
            (f"fanout asyncio C={IO_SLOTS} (one job)", "asyncio", IO_SLOTS),
            (f"fanout hybrid W=2 x {IO_SLOTS // 2}", "hybrid", IO_SLOTS // 2),
        ],
        {
            "celery": ("threads", IO_SLOTS // 2, 2, 4),
            "dramatiq": (2, IO_SLOTS // 2),
            "arq": (2, IO_SLOTS // 2),
        },
        slots=IO_SLOTS,
    ),
    Shape(
        "cpu (~50 ms)",
        0,
        4096,
        "cpu",
        32,
        8,
        [("fanout queue W=2 (one RQ job per URL)", "queue", 1)],
        {"celery": ("prefork", 2, 1, 1), "dramatiq": (2, 1), "arq": (2, 1)},
    ),
]


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def rabbit_answers() -> str:
    """'' when RabbitMQ answers on 127.0.0.1:5672 as guest, else why not."""
    if not installed("kombu"):
        return "kombu (Celery) is not installed"
    from kombu.connection import Connection

    try:
        with Connection(RABBIT_URL, connect_timeout=2) as conn:
            conn.connect()
    except Exception as exc:
        return f"no RabbitMQ on 127.0.0.1:5672 as guest ({type(exc).__name__})"
    return ""


# --- the peers ---------------------------------------------------------------------------------


class PeerStuck(RuntimeError):
    """A peer's round did not end: the peer is left out of the rest of the workload."""


@dataclass
class Peer:
    """One peer system on one broker: its private Redis, its workers for the current shape, and
    how it enqueues a round."""

    name: str
    label: str
    #: Its library, which names its tuning in a `Shape` and its module, `bench.peer_<system>`.
    system: str
    #: Its private redis-server: the broker, but for Celery on RabbitMQ, and the tasks' counter.
    redis_url: str
    broker_url: str
    redis: redis_lib.Redis
    queue: str = field(default_factory=lambda: f"fanout-peer-{uuid.uuid4().hex[:8]}")
    workers: list[Child] = field(default_factory=list)
    tuning: str = ""
    _enqueue: peer_body.Enqueue | None = None

    def start_workers(self, ctx: Ctx, shape: Shape) -> None:
        """The workers `shape` tunes the system for; the peer's enqueuing, set up once they run."""
        self.stop_workers()
        system = importlib.import_module(f"bench.peer_{self.system}")
        commands, self.tuning = system.workers(self.name, self.queue, *shape.tuning[self.system])
        env = {
            **ctx.stack.env,
            peer_body.BROKER_ENV: self.broker_url,
            peer_body.COUNTER_ENV: self.redis_url,
            peer_body.QUEUE_ENV: self.queue,
        }
        for args, extra in commands:
            child = ctx.stack.python(f"peer-{self.name}-{self.system}", *args, env=env | extra)
            self.workers.append(child)
        self._enqueue = system.enqueuer(self.broker_url, self.queue)

    def stop_workers(self) -> None:
        for child in self.workers:
            child.stop(timeout_s=10)
        self.workers = []

    def run_round(self, batch: list[str], shape: Shape, rounds: int) -> dict[str, float]:
        """One measured round: enqueue every URL, wait for the last end, read the costs."""
        assert self._enqueue is not None, "workers started"
        key = f"peer-round:{uuid.uuid4().hex[:12]}"
        arg_lists = [(url, shape.workload, rounds, key, len(batch)) for url in batch]
        costs = _costs(self.redis, [w.pid for w in self.workers])
        t0 = time.time()
        self._enqueue(arg_lists)
        waits, deadline = 0, time.monotonic() + ROUND_TIMEOUT_S
        while True:
            waits += 1
            done = self.redis.blpop([peer_body.done_key(key)], timeout=1)
            if done is not None:
                break
            if time.monotonic() > deadline or not all(w.alive() for w in self.workers):
                ended = int(self.redis.get(key) or 0)
                raise PeerStuck(
                    f"{self.label}: {ended}/{len(batch)} tasks ended after "
                    f"{time.monotonic() - deadline + ROUND_TIMEOUT_S:.0f} s"
                )
        cpu, commands = costs(waits)  # less the bench's BLPOPs
        self.redis.delete(key)
        return _sample(len(batch), float(done[1]) - t0, cpu, commands)


def _costs(client: redis_lib.Redis, pids: list[int]) -> Callable[[int], tuple[float, int]]:
    """Start counting an arm's costs; the call returned answers (worker CPU seconds, Redis
    commands) since, less the `own` commands the bench's waiting sent (INFO is never counted)."""
    client.config_resetstat()
    cpu = tree_cpu_s(pids)

    def since(own: int) -> tuple[float, int]:
        calls = command_calls(client)
        commands = sum(calls.values()) - calls.get("cmdstat_info", 0) - own
        return tree_cpu_s(pids) - cpu, commands

    return since


def _sample(count: int, wall_s: float, cpu_s: float, commands: int) -> dict[str, float]:
    return {
        "wall_s": wall_s,
        "tput": count / wall_s,
        "cpu_ms": cpu_s / count * 1000,
        "cmds": commands / count,
    }


def make_peers(ctx: Ctx, notes: list[str]) -> tuple[list[Peer], list[Child]]:
    """The peers that are installed, each with a private redis-server (returned to stop)."""
    peers: list[Peer] = []
    servers: list[Child] = []
    wanted = [
        ("celery-redis", "Celery {version} (redis broker)", "celery"),
        ("celery-amqp", "Celery {version} (RabbitMQ broker)", "celery"),
        ("dramatiq", "Dramatiq {version} (redis broker)", "dramatiq"),
        ("arq", "arq {version}", "arq"),
    ]
    for name, label, module in wanted:
        why = "" if installed(module) else f"`{module}` is not installed (pip extra `peers`)"
        if not why and name == "celery-amqp":
            why = rabbit_answers()
        if why:
            notes.append(f"{label.replace(' {version}', '')}: skipped, {why}.")
            continue
        label = label.format(version=importlib.metadata.version(module))
        server = ctx.stack.private_redis(f"peer-redis-{name}")
        servers.append(server)
        broker = RABBIT_URL if name == "celery-amqp" else server.url
        redis = redis_lib.Redis.from_url(server.url)
        peers.append(Peer(name, label, module, server.url, broker, redis))
    return peers, servers


def delete_rabbit_queue(queue: str) -> None:
    from kombu.connection import Connection

    with contextlib.suppress(Exception), Connection(RABBIT_URL, connect_timeout=2) as conn:
        channel = conn.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)


# --- fanout ------------------------------------------------------------------------------------


def fanout_round(
    ctx: Ctx, batch: list[str], shape: Shape, strategy: str, concurrency: int
) -> dict[str, float]:
    """One fanout run, measured like a peer's round; the bench's own polls are not counted."""
    stack = ctx.stack
    client = stack.client
    costs = _costs(client, stack.worker_pids())
    run_id = submit_only(stack, batch, strategy, concurrency, shape.workload)
    polls, deadline = 0, time.monotonic() + 300
    while True:
        polls += 1
        state, _, _ = run_state(client, run_id)
        if state == "done":
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"fanout {strategy} run {run_id} not done after 300 s")
        time.sleep(0.01)
    cpu, commands = costs(polls)
    record = load_run(client, run_id)
    if record["counts"]["ok"] != len(batch):
        raise RuntimeError(f"fanout {strategy} run {run_id}: {record['counts']}")
    wall_s = record["finished_at"] - record["submitted_at"]
    return _sample(len(batch), wall_s, cpu, commands)


# --- the scenario ------------------------------------------------------------------------------


def task_seconds(batch: list[str], shape: Shape, rounds: int) -> float | None:
    """One cpu task's CPU seconds, run in the bench process (the least of 3; CPU time, which
    other processes on the machine disturb less than wall time): the cpu workload's nominal
    bound is n of them on 2 cores."""
    if shape.workload != "cpu":
        return None
    times = []
    for url in batch[:3]:
        started = time.process_time()
        peer_body.fetch(url, "cpu", rounds)
        times.append(time.process_time() - started)
    return min(times)


def _eff(shape: Shape, sample: dict[str, float], count: int, task_s: float | None) -> None:
    if shape.slots:
        sample["eff"] = ideal_s(count, shape.delay_ms / 1000, shape.slots) / sample["wall_s"]
    elif task_s:
        sample["eff"] = count * task_s / 2 / sample["wall_s"]


def peers(ctx: Ctx) -> Outcome:
    title = "fanout beside Celery, Dramatiq and arq: same origin, task body and completion rule"
    out = Outcome("peers", title, COLUMNS)
    notes: list[str] = []
    rounds_n = ctx.size(4, 1)
    cpu_rounds = ctx.stack.settings.cpu_rounds
    loads = [os.getloadavg()[0]]
    peer_list, servers = make_peers(ctx, notes)
    tunings: list[str] = []
    try:
        for shape in SHAPES:
            tunings.append(_run_shape(ctx, out, shape, peer_list, rounds_n, cpu_rounds))
            loads.append(os.getloadavg()[0])
    finally:
        for peer in peer_list:
            peer.stop_workers()
            if peer.name == "celery-amqp":
                delete_rabbit_queue(peer.queue)
        for server in servers:
            server.stop()
    out.notes.extend(_intro_notes(ctx, rounds_n, cpu_rounds))
    out.notes.extend(notes)
    out.notes.extend(tunings)
    out.notes.append(
        "Load average (1 min) at the scenario's start and after each workload: "
        + ", ".join(f"{x:.2f}" for x in loads)
        + "."
    )
    return out


def _intro_notes(ctx: Ctx, rounds_n: int, cpu_rounds: int) -> list[str]:
    sizes = ", ".join(f"{s.title}: {ctx.size(s.n_full, s.n_quick)} tasks" for s in SHAPES)
    return [
        f"{sizes}; {rounds_n} rounds, each arm once per round, in reverse order every other "
        "round; medians (spread in brackets). fanout on 2 SimpleWorkers (asyncio runs its one "
        "job on one of them). The cpu task is a GET of a 4 KiB body then "
        f"{cpu_rounds:,} rounds of `worker.cpu.burn` on its SHA-256, as fanout's task.",
        "Every peer task: GET the URL (Celery and Dramatiq: one keep-alive `requests` Session "
        "per thread; arq: one aiohttp ClientSession per worker), read the body, then one INCR "
        "on a counter in the peer's Redis (included in its commands per task: fanout's own "
        "records are its completion count, and are in its commands too). Wall: first enqueue "
        "to the last task's recorded end. Worker CPU: every worker process and child (psutil), "
        "idle polling included; the bench's enqueuing is not in it. Every arm runs while the "
        "other systems' workers idle beside it (arq's poll every 10 ms). Redis commands: INFO "
        "commandstats delta on the system's own private redis-server, the bench's waits less; "
        "Celery on RabbitMQ counts only the counter's INCRs (AMQP traffic is not Redis's).",
        f"eff (nominal): /delay/100: n x 100 ms / {IO_SLOTS} slots (every arm has "
        f"{IO_SLOTS}) over the wall; cpu: n x one task's CPU time in the bench process / 2 cores "
        "over the wall; /delay/0: none.",
    ]


def _run_shape(
    ctx: Ctx, out: Outcome, shape: Shape, peer_list: list[Peer], rounds_n: int, cpu_rounds: int
) -> str:
    """Every arm's rounds of one workload; returns the note on how each system was tuned."""
    n = ctx.size(shape.n_full, shape.n_quick)
    origin = ctx.stack.origin_url
    batch = urls(origin, n, shape.delay_ms, shape.body_bytes)
    warm = urls(origin, min(n, 64), shape.delay_ms, shape.body_bytes)
    ctx.workers(2)
    for peer in peer_list:
        peer.start_workers(ctx, shape)
    ref = next((p for p in peer_list if p.name == "celery-redis"), None)
    ref_label = f"{shape.title}: {ref.label}" if ref else None
    arms: list[tuple[str, Peer | None, Callable[[list[str]], dict[str, float]]]] = []
    for label, strategy, conc in shape.fanout:
        out.new(f"{shape.title}: {label}", ref=ref_label)
        run = partial(fanout_round, ctx, shape=shape, strategy=strategy, concurrency=conc)
        arms.append((label, None, run))
    for peer in peer_list:
        out.new(f"{shape.title}: {peer.label}", baseline=True)
        arms.append((peer.label, peer, partial(peer.run_round, shape=shape, rounds=cpu_rounds)))
    tuning = "; ".join(f"{p.label}: {p.tuning}" for p in peer_list)
    fanout_arms = ", ".join(label for label, _, _ in shape.fanout)
    task_s = task_seconds(batch, shape, cpu_rounds)
    live = list(peer_list)  # this workload's: a peer that gets stuck leaves it

    def give_up(peer: Peer, exc: PeerStuck) -> None:
        out.notes.append(f"{shape.title}: {exc}; left out of the rest of this workload.")
        peer.stop_workers()
        live.remove(peer)

    paired: dict[str, list[float]] = {}
    try:
        for peer in list(live):  # warm-up: workers up, connections and sessions open
            try:
                peer.run_round(warm, shape, cpu_rounds)
            except PeerStuck as exc:
                give_up(peer, exc)
        for _label, strategy, conc in shape.fanout:
            fanout_round(ctx, warm, shape, strategy, conc)
        for number in range(rounds_n):
            tputs: dict[str, float] = {}
            for label, arm_peer, arm in arms if number % 2 == 0 else arms[::-1]:
                if arm_peer is not None and arm_peer not in live:
                    continue  # given up earlier in this workload
                try:
                    sample = arm(batch)
                except PeerStuck as exc:
                    assert arm_peer is not None
                    give_up(arm_peer, exc)
                    continue
                _eff(shape, sample, n, task_s)
                out.get(f"{shape.title}: {label}").add(**sample)
                tputs[label] = sample["tput"]
                time.sleep(SETTLE_S)
            _pair(paired, tputs, shape, live)
    finally:
        for peer in live:
            peer.stop_workers()
    if paired:
        out.notes.append(
            f"{shape.title}, tasks/s ratios measured in the same round (median of rounds): "
            + "; ".join(f"{k} {fmt(statistics.median(v))}x" for k, v in paired.items())
            + "."
        )
    return f"{shape.title} tuning: {tuning}; fanout: {fanout_arms}."


def _pair(
    paired: dict[str, list[float]], tputs: dict[str, float], shape: Shape, peer_list: list[Peer]
) -> None:
    """Each fanout arm's tasks/s over each peer's, in this round."""
    for label, strategy, _ in shape.fanout:
        for peer in peer_list:
            if tputs.get(peer.label) and label in tputs:
                key = f"fanout {strategy} / {peer.name}"
                paired.setdefault(key, []).append(tputs[label] / tputs[peer.label])
