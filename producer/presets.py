"""Ready-made batches: every demo and test fetches from the project's own origin on loopback."""

from __future__ import annotations

from dataclasses import dataclass

from contract.states import Strategy, Workload

#: The original tutorial's domains, for a machine with internet access.
TUTORIAL_DOMAINS = (
    "https://www.google.com",
    "https://www.wikipedia.org",
    "https://www.python.org",
    "https://www.github.com",
    "https://www.stackoverflow.com",
    "https://www.reddit.com",
    "https://www.amazon.com",
    "https://www.bbc.co.uk",
)


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    urls: tuple[str, ...]
    strategy: Strategy
    concurrency: int
    workload: Workload = Workload.FETCH


def local_demo(origin_url: str, count: int = 40, delay_ms: int = 250) -> tuple[str, ...]:
    """`count` URLs of `delay_ms` each with mixed body sizes (1 KiB to 64 KiB)."""
    sizes = (1024, 4096, 16384, 65536)
    return tuple(
        f"{origin_url}/delay/{delay_ms}?bytes={sizes[i % len(sizes)]}&n={i}" for i in range(count)
    )


def mixed_failures(origin_url: str) -> tuple[str, ...]:
    return (
        f"{origin_url}/delay/100?bytes=2048",
        f"{origin_url}/status/404",
        f"{origin_url}/status/500",
        f"{origin_url}/redirect/2",
        f"{origin_url}/redirect-loop",
        f"{origin_url}/drip?bytes=100&interval_ms=500",
        f"{origin_url}/hang",
        "http://127.0.0.1:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        f"{origin_url}/delay/200?bytes=4096",
        "http://fanout-no-such-host.invalid/",
    )


def cpu_batch(origin_url: str, count: int = 40) -> tuple[str, ...]:
    return tuple(f"{origin_url}/delay/0?bytes=4096&n={i}" for i in range(count))


def long_run(origin_url: str, count: int = 2000, delay_ms: int = 200) -> tuple[str, ...]:
    return tuple(f"{origin_url}/delay/{delay_ms}?bytes=1024&n={i}" for i in range(count))


def presets(origin_url: str) -> list[Preset]:
    return [
        Preset("demo", "Local demo (40 x 250 ms)", local_demo(origin_url), Strategy.THREADS, 8),
        Preset("failures", "Mixed failures", mixed_failures(origin_url), Strategy.THREADS, 12),
        Preset("cpu", "CPU workload", cpu_batch(origin_url), Strategy.PROCESSES, 2, Workload.CPU),
        Preset("long", "Long run (2,000 x 200 ms)", long_run(origin_url), Strategy.QUEUE, 1),
        Preset(
            "tutorial", "Tutorial domains (needs internet)", TUTORIAL_DOMAINS, Strategy.THREADS, 8
        ),
    ]


#: URLs in a sweep's ready-made batch: enough that 8 workers each take several.
SWEEP_URLS = 80
#: The wait of each task of the I/O-bound sweep batch.
SWEEP_DELAY_MS = 200

#: A sweep's ready-made batches by name: the workload each runs, and what it holds.
SWEEP_PRESETS = {
    "io": (Workload.FETCH, f"{SWEEP_URLS} \u00d7 /delay/{SWEEP_DELAY_MS} (waits on the network)"),
    "cpu": (Workload.CPU, f"{SWEEP_URLS} \u00d7 the cpu workload"),
}

#: The strategies a sweep measures: the ones whose jobs spread over the workers.
SWEEP_STRATEGIES = tuple(strategy.value for strategy in Strategy if not strategy.is_single_job)


def sweep_batch(origin_url: str, workload: Workload) -> tuple[str, ...]:
    """A scaling sweep's ready-made batch: I/O-bound (one worker waits most of each task) or,
    for `cpu`, pure Python per URL on an instant fetch."""
    if workload is Workload.CPU:
        return cpu_batch(origin_url, SWEEP_URLS)
    return long_run(origin_url, SWEEP_URLS, SWEEP_DELAY_MS)
