"""The throughput scenarios: each is one small function of a `Ctx` that returns an `Outcome`.

Every fanout series names the baseline (`ref`) it is quoted against, measured in the same
repetition loop so both see the same machine. The service scenarios (per-job overhead,
submission, reading, footprint) are in `bench.services`; `SCENARIOS` lists them all, in order.
"""

from __future__ import annotations

from collections.abc import Callable

from bench import client_cpu, peers, scale, services
from bench.measure import Ctx, bare, direct, fanout_run, hybrid_chunks, ideal_s, urls
from bench.model import Outcome, Series, columns, fmt, ratio, within
from figures import usl
from producer.presets import local_demo

FETCH = columns("wall_s", "eff", "summary_eff", "tput", "origin_cpu")


def _at_least(out: Outcome, target: str, label: str, metric: str, bound: float) -> None:
    series = out.get(label)
    value = series.median(metric)
    ref = out.get(series.ref).median(metric) if series.ref else None
    digits = 3 if bound < 10 else 0  # 0.897 must not read as a met 0.90
    out.check(target, fmt(value, digits), fmt(ref, digits), within(value, at_least=bound))


def _beside_direct(
    ctx: Ctx, out: Outcome, batch: list[str], d: float, pairs: list[tuple[str, str, str, int]]
) -> list[tuple[Series, Series]]:
    """(baseline, fanout) series of each (label, direct baseline, strategy, concurrency): the
    baseline, then fanout at that concurrency on one worker, in turn in each repetition. The
    tutorial's programs take no concurrency: they start one thread or process per URL."""
    series = [
        (out.new(label, baseline=True), out.new(f"fanout {strategy} C={c}", ref=label))
        for label, _, strategy, c in pairs
    ]
    ctx.workers(1)
    for _ in range(ctx.reps):
        for (base, fan), (_, name, strategy, c) in zip(series, pairs, strict=True):
            kwargs = {} if name.startswith("tutorial") else {"concurrency": c}
            base.add(**direct(ctx, name, batch, d, c, **kwargs))
            fan.add(**fanout_run(ctx, batch, strategy, c, delay_s=d, slots=c))
    return series


def tutorial(ctx: Ctx) -> Outcome:
    out = Outcome("tutorial", "vs the tutorial: its three programs, run directly", FETCH)
    n, delay_ms = ctx.size(40, 10), ctx.size(250, 100)
    d = delay_ms / 1000
    batch = list(local_demo(ctx.stack.origin_url, n, delay_ms))
    out.notes.append(f"{n} URLs of {delay_ms} ms, 1 to 64 KiB bodies; fanout on 1 worker.")
    pairs = [
        ("tutorial: sequential loop", "tutorial_sequential", "sequential", 1),
        ("tutorial: thread per URL", "tutorial_threads", "threads", n),
        ("tutorial: process per URL", "tutorial_processes", "processes", n),
    ]
    _beside_direct(ctx, out, batch, d, pairs)
    value = out.get(f"fanout threads C={n}").median("wall_s")
    ref = out.get("tutorial: thread per URL").median("wall_s")
    ok = None if value is None or ref is None else value <= 1.1 * ref + 0.05
    target = f"fanout threads C={n} wall <= 1.1 x tutorial thread-per-URL + 50 ms"
    out.check(target, f"{fmt(value, 3)} s", f"{fmt(ref, 3)} s", ok)
    return out


def threads_c32(ctx: Ctx) -> Outcome:
    out = Outcome("threads-c32", "threads C=32 on one worker vs a bare ThreadPoolExecutor", FETCH)
    n, delay_ms, c = ctx.size(200, 64), ctx.size(100, 50), ctx.size(32, 16)
    d, batch = delay_ms / 1000, urls(ctx.stack.origin_url, n, delay_ms)
    out.notes.append(f"{n} URLs of {delay_ms} ms.")
    pairs = [(f"bare ThreadPoolExecutor C={c}", "pool_threads", "threads", c)]
    [(base, fan)] = _beside_direct(ctx, out, batch, d, pairs)
    _at_least(out, f"threads C={c}: eff >= 0.90", fan.label, "eff", 0.90)
    _note_wave_bound(out, n, c, d, [base.label, fan.label])
    return out


def _note_wave_bound(out: Outcome, n: int, slots: int, d: float, labels: list[str]) -> None:
    """Equal tasks fill whole waves: n tasks on `slots` take ceil(n / slots) waves of d, which
    the nominal bound (n * d / slots) does not count when n is not a multiple of slots."""
    waves = -(-n // slots)
    cap = ideal_s(n, d, slots) / (waves * d)
    if cap >= 1:
        return
    out.notes.append(
        f"{n} tasks of {d * 1000:g} ms on {slots} slots need {waves} waves, {waves * d:.3f} s: "
        f"no run can beat efficiency {cap:.3f} against the nominal bound "
        f"({ideal_s(n, d, slots):.3f} s). Against the wave bound: "
        f"{_reached([out.get(label) for label in labels], cap)}."
    )


def _reached(series: list[Series], cap: float) -> str:
    """Each series' nominal efficiency as a share of the best any run could reach, `cap`."""
    return ", ".join(
        f"{s.label} {fmt(eff / cap, 3)}" for s in series if (eff := s.median("eff")) is not None
    )


def asyncio_c500(ctx: Ctx) -> Outcome:
    out = Outcome("asyncio-c500", "asyncio C=500 vs threads C=200, and their bare twins", FETCH)
    n, delay_ms = ctx.size(2000, 200), ctx.size(100, 50)
    ca, ct = ctx.size(500, 100), ctx.size(200, 50)
    d, batch = delay_ms / 1000, urls(ctx.stack.origin_url, n, delay_ms)
    out.notes.append(f"{n} URLs of {delay_ms} ms, one worker.")
    pairs = [
        (f"bare aiohttp C={ca}", "aiohttp_gather", "asyncio", ca),
        (f"bare ThreadPoolExecutor C={ct}", "pool_threads", "threads", ct),
    ]
    (bare_a, fan_a), (bare_t, fan_t) = _beside_direct(ctx, out, batch, d, pairs)
    _at_least(out, f"asyncio C={ca}: eff >= 0.70", fan_a.label, "eff", 0.70)
    needed = n / ideal_s(n, d, ca)
    out.notes.append(
        f"eff 0.70 at C={ca} needs {0.7 * needed:,.0f} tasks/s through one client process and "
        f"the one-process origin on the same cores; bare aiohttp reached "
        f"{fmt(bare_a.median('tput'))} tasks/s here."
    )
    times = ratio(fan_a.median("tput"), fan_t.median("tput"))
    out.check(
        f"asyncio C={ca} throughput >= 3x threads C={ct}",
        f"{fmt(times)}x",
        f"bare: {fmt((bare_a.median('tput') or 0) / (bare_t.median('tput') or 1))}x",
        within(times, at_least=3),
    )
    return out


def queue_scaling(ctx: Ctx) -> Outcome:
    out = Outcome("queue-scaling", "queue (one RQ job per URL) at W workers vs bare RQ", FETCH)
    n, delay_ms = ctx.size(200, 20), ctx.size(100, 50)
    d, batch = delay_ms / 1000, urls(ctx.stack.origin_url, n, delay_ms)
    out.notes.append(
        f"{n} URLs of {delay_ms} ms; SimpleWorkers on both sides; bare RQ runs "
        "`bench.jobs.fetch(url)` (requests, one session per worker)."
    )
    for w in ctx.worker_counts():
        base = out.new(f"bare RQ SimpleWorker W={w}", baseline=True, chart="bare RQ", workers=w)
        fan = out.new(f"fanout queue W={w}", ref=base.label, chart="fanout queue", workers=w)
        ctx.workers(w)
        for _ in range(ctx.reps):
            fan.add(**fanout_run(ctx, batch, "queue", 1, delay_s=d, slots=w))
        ctx.workers(w, "bare")
        for _ in range(ctx.reps):
            base.add(**bare(ctx, "bench.jobs.fetch", [(url,) for url in batch], n, d, w))
        _at_least(out, f"queue W={w}: eff >= 0.90", fan.label, "eff", 0.90)
    _usl_note(out, [s for s in out.series if s.label.startswith("fanout queue")])
    return out


def _usl_note(out: Outcome, series: list[Series]) -> None:
    """The Universal Scalability Law fitted to fanout's throughput at each worker count (the
    sweep's fit, `figures.usl`), as a note: sigma, kappa, R^2 and where it peaks."""
    points = [
        (s.workers, tput) for s in series if s.workers is not None and (tput := s.median("tput"))
    ]
    model = usl.fit([w for w, _ in points], [x for _, x in points])
    if model is None:
        out.notes.append("USL: fewer than 3 worker counts, no fit.")
        return
    peak = f"peak at N* = {model.peak_n:.1f}" if model.peak_n else "no peak (kappa = 0)"
    out.notes.append(
        f"USL fit over W = {', '.join(str(w) for w, _ in points)}: sigma {model.sigma:.4f}, "
        f"kappa {model.kappa:.5f}, lambda {model.lam:.2f}/s, R^2 {model.r2:.3f}; {peak}."
    )


def cpu_sweep(ctx: Ctx) -> Outcome:
    """The sweep's other lesson: pure-Python tasks scale with workers only up to the cores."""
    cols = columns("tput", "wall_s", "summary_eff")
    out = Outcome("cpu-sweep", "queue, cpu workload, at W workers on 2 cores", cols)
    n = ctx.size(80, 16)
    batch = urls(ctx.stack.origin_url, n, 0, 4096)
    out.notes.append(f"{n} tasks of /delay/0 then the cpu workload, one job per task.")
    for w in ctx.worker_counts():
        series = out.new(f"fanout queue cpu W={w}", chart="fanout queue cpu", workers=w)
        ctx.workers(w)
        for _ in range(ctx.reps):
            series.add(**fanout_run(ctx, batch, "queue", 1, workload="cpu"))
    _usl_note(out, out.series)
    return out


def hybrid_scaling(ctx: Ctx) -> Outcome:
    out = Outcome("hybrid-scaling", "hybrid (chunks, an event loop in each) at W workers", FETCH)
    n, delay_ms, c = ctx.size(2000, 128), ctx.size(100, 50), ctx.size(16, 4)
    d, batch = delay_ms / 1000, urls(ctx.stack.origin_url, n, delay_ms)
    bare_w = ctx.size(4, 2)
    for w in (2,) if ctx.quick else ctx.worker_counts():
        chunks = hybrid_chunks(batch, c, w)
        ref = None
        if w == bare_w:
            ref = f"bare RQ chunks W={w} x {c}"
            out.new(ref, baseline=True, chart="bare RQ hybrid", workers=w)
        fan = out.new(f"fanout hybrid W={w} x {c}", ref=ref, chart="fanout hybrid", workers=w)
        out.notes.append(f"W={w}: {len(chunks[0])} URLs per chunk ({len(chunks)} jobs).")
        ctx.workers(w)
        for _ in range(ctx.reps):
            fan.add(**fanout_run(ctx, batch, "hybrid", c, delay_s=d, slots=min(n, w * c)))
        if ref is None:
            continue
        ctx.workers(w, "bare")
        for _ in range(ctx.reps):
            sample = bare(ctx, "bench.jobs.fetch_chunk", [(ch, c) for ch in chunks], n, d, w * c)
            out.get(ref).add(**sample)
    out.notes.insert(0, f"{n} URLs of {delay_ms} ms, {c} lanes per job (bare RQ: {c} threads).")
    _at_least(
        out, f"hybrid W={bare_w} x {c}: eff >= 0.90", f"fanout hybrid W={bare_w} x {c}", "eff", 0.90
    )
    _note_chunk_bound(out, batch, c, bare_w, d)
    return out


def _note_chunk_bound(out: Outcome, batch: list[str], c: int, w: int, d: float) -> None:
    """A chunk is a job: its waves run on one worker, so the busiest worker holds at least
    ceil(all waves / w) of them, and never less than one whole chunk."""
    parts = hybrid_chunks(batch, c, w)
    waves = [-(-len(part) // c) for part in parts]
    bound_s = max(max(waves), -(-sum(waves) // w)) * d
    cap = ideal_s(len(batch), d, w * c) / bound_s
    reached = _reached([s for s in out.series if f"W={w} x" in s.label], cap)
    out.notes.append(
        f"W={w}: {len(parts)} chunks hold {sum(waves)} waves of {d * 1000:g} ms; the busiest "
        f"of {w} workers runs at least {bound_s / d:.0f} of them, {bound_s:.2f} s, so efficiency "
        f"cannot exceed {cap:.3f}. Against that bound: {reached}."
    )


def hybrid_balance(ctx: Ctx) -> Outcome:
    """Hybrid against the best strategy on the same slots: its chunks must leave no worker a
    spare wave while another idles."""
    out = Outcome("hybrid-balance", "hybrid vs threads, asyncio and bare RQ chunks at W", FETCH)
    n, delay_ms, c = ctx.size(800, 96), ctx.size(100, 50), 32
    d, batch = delay_ms / 1000, urls(ctx.stack.origin_url, n, delay_ms)
    out.notes.append(
        f"{n} URLs of {delay_ms} ms; hybrid with {c} asyncio lanes per job on W workers; threads "
        f"and asyncio with W x {c} in flight on one worker; bare RQ with W even chunks of {c} "
        "threads."
    )
    for w in ctx.worker_counts():
        slots = min(n, w * c)
        hyb = out.new(f"fanout hybrid W={w} x {c}")
        others = [
            (out.new(f"fanout threads C={w * c} (W={w})"), "threads"),
            (out.new(f"fanout asyncio C={w * c} (W={w})"), "asyncio"),
        ]
        base = out.new(f"bare RQ even chunks W={w} x {c}", baseline=True)
        size = -(-n // w)
        chunks = [(batch[i : i + size], c) for i in range(0, n, size)]
        for _ in range(ctx.reps):
            ctx.workers(w)
            hyb.add(**fanout_run(ctx, batch, "hybrid", c, delay_s=d, slots=slots))
            for series, strategy in others:
                series.add(**fanout_run(ctx, batch, strategy, w * c, delay_s=d, slots=slots))
            ctx.workers(w, "bare")
            base.add(**bare(ctx, "bench.jobs.fetch_chunk", chunks, n, d, slots))
        rivals = [s for s, _ in others] + [base]
        best = max((s.median("eff") or 0.0 for s in rivals), default=0.0)
        value = hyb.median("eff")
        ok = None if value is None or not best else value >= 0.95 * best
        target = f"hybrid W={w}: eff >= 0.95 x the best"
        out.check(target, fmt(ratio(value, best), 3), fmt(best, 3), ok)
    return out


def tiny_tasks(ctx: Ctx) -> Outcome:
    cols = columns("wall_s", "tput", "span_s", "origin_cpu")
    out = Outcome("tiny-tasks", "throughput of tiny tasks (/delay/0) on 2 workers", cols)
    n, nq, c = ctx.size(2000, 400), ctx.size(500, 100), 8
    origin = ctx.stack.origin_url
    batch, qbatch = urls(origin, n, 0, 64), urls(origin, nq, 0, 64)
    chunks = hybrid_chunks(batch, c, 2)
    chunk = len(chunks[0])
    out.notes.append(
        f"64-byte bodies. hybrid: {n} URLs, {c} lanes, {chunk} URLs per chunk; "
        f"queue: {nq} URLs; asyncio: {n} URLs, C=64 on one worker."
    )
    hyb_base = out.new("bare RQ chunks W=2 x 8", baseline=True)
    hyb = out.new(f"fanout hybrid W=2 x {c}", ref=hyb_base.label)
    queue_base = out.new("bare RQ SimpleWorker W=2", baseline=True)
    queue = out.new("fanout queue W=2", ref=queue_base.label)
    pool = out.new("bare ThreadPoolExecutor C=8 (1 process)", baseline=True)
    aio_base = out.new("bare aiohttp C=64 (1 process)", baseline=True)
    aio = out.new("fanout asyncio C=64", ref=aio_base.label)
    for _ in range(ctx.reps):
        ctx.workers(2)
        hyb.add(**fanout_run(ctx, batch, "hybrid", c))
        queue.add(**fanout_run(ctx, qbatch, "queue", 1))
        aio.add(**fanout_run(ctx, batch, "asyncio", 64))
        ctx.workers(2, "bare")
        hyb_base.add(**bare(ctx, "bench.jobs.fetch_chunk", [(ch, c) for ch in chunks], n))
        queue_base.add(**bare(ctx, "bench.jobs.fetch", [(url,) for url in qbatch], nq))
        pool.add(**direct(ctx, "pool_threads", batch, concurrency=c))
        aio_base.add(**direct(ctx, "aiohttp_gather", batch, concurrency=64))
    _at_least(out, "hybrid on 2 workers: >= 2,000 tasks/s", hyb.label, "tput", 2000)
    return out


def cpu(ctx: Ctx) -> Outcome:
    cols = [*columns("wall_s"), ("speedup", "speed-up vs sequential"), *columns("summary_eff")]
    out = Outcome("cpu", "cpu workload (fetch, then pure-Python work) on 2 cores", cols)
    n, rounds = ctx.size(40, 8), ctx.stack.settings.cpu_rounds
    batch = urls(ctx.stack.origin_url, n, 0, 4096)
    out.notes.append(
        f"{n} tasks of /delay/0 then {rounds:,} rounds of `worker.cpu.burn`; 2 workers."
    )
    plan = [
        ("sequential", 1, "fanout sequential C=1", "cpu_sequential", {}),
        ("threads", 2, "fanout threads C=2", "cpu_threads", {"concurrency": 2}),
        ("processes", 2, "fanout processes C=2", "cpu_processes", {"concurrency": 2}),
        ("queue", 1, "fanout queue W=2", None, {}),
    ]
    for strategy, c, label, name, _ in plan:
        base = out.new(f"bare {strategy} C={c}", baseline=True).label if name else None
        out.new(label, ref=base)
    ctx.workers(2)
    for _ in range(ctx.reps):
        for strategy, c, label, name, kwargs in plan:
            out.get(label).add(**fanout_run(ctx, batch, strategy, c, workload="cpu"))
            if name:
                timed = direct(ctx, name, batch, rounds=rounds, **kwargs)
                out.get(f"bare {strategy} C={c}").add(wall_s=timed["wall_s"])
    for series in out.series:
        seq = out.get("bare sequential C=1" if series.baseline else "fanout sequential C=1")
        for sample in series.samples:
            sample["speedup"] = (seq.median("wall_s") or 0) / sample["wall_s"]
    for label, low, high in (
        ("fanout processes C=2", 1.8, None),
        ("fanout queue W=2", 1.8, None),
        ("fanout threads C=2", 0.8, 1.2),
    ):
        value = out.get(label).median("speedup")
        ref = out.get(label).ref
        ref_speedup = out.get(ref).median("speedup") if ref else None
        ok = value is not None and value >= low and (high is None or value <= high)
        target = f">= {low}x" if high is None else "~1x (0.8 to 1.2)"
        out.check(
            f"cpu {label.removeprefix('fanout ')}: speed-up {target}",
            f"{fmt(value)}x",
            f"{fmt(ref_speedup)}x" if ref_speedup else "-",
            ok,
        )
    return out


#: (name, function) of every scenario, in the order they run.
SCENARIOS: list[tuple[str, Callable[[Ctx], Outcome]]] = [
    ("tutorial", tutorial),
    ("threads-c32", threads_c32),
    ("asyncio-c500", asyncio_c500),
    ("queue-scaling", queue_scaling),
    ("hybrid-scaling", hybrid_scaling),
    ("hybrid-balance", hybrid_balance),
    ("tiny-tasks", tiny_tasks),
    ("cpu", cpu),
    ("cpu-sweep", cpu_sweep),
    ("client-cpu", client_cpu.client_cpu),
    ("queue-overhead", services.queue_overhead),
    ("submission", services.submission),
    ("reading", services.reading),
    ("footprint", services.footprint),
    ("scale", scale.scale),
    ("peers", peers.peers),
]
#: Scenarios `--quick` leaves out unless named: their reduced sizes would still cost the CI
#: smoke about a minute (scale: two runs, a browser and its page loads; peers: three other
#: job queues' workers, started per workload).
FULL_ONLY = frozenset({"scale", "peers"})
