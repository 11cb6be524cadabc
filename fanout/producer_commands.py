"""The CLI's producer-side commands (run, compare, sweep, workers, ps): loaded only when one of
them is called (`fanout.cli.main` names them lazily), so `fanout worker` and `fanout conductor`
never load the producer's code."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import click
from redis import Redis
from redis.exceptions import RedisError

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload
from fanout.cli import STRATEGIES, WORKLOADS, _settings
from fanout.report import say, summary_lines
from producer.connection import connect, fanout_queue
from producer.numbers import count, counted
from producer.presets import SWEEP_STRATEGIES, cpu_batch, local_demo
from producer.submit import submit_comparison, submit_run
from producer.validation import InvalidInput, build_spec, parse_url_lines
from producer.wait import RunTimeout

# --- producer --------------------------------------------------------------------------------


_Command = TypeVar("_Command", bound=Callable[..., Any])


def _batch_options(
    demo_help: str = "A batch on the local origin (40 x 250 ms; with --workload cpu, 40 x 0 ms).",
    json_help: str = "Print the whole record as JSON.",
) -> Callable[[_Command], _Command]:
    """The options every batch command takes: its URLs, concurrency, workload, output and wait."""
    options = [
        click.argument("urls", nargs=-1),
        click.option("--file", "url_file", type=click.File("r"), help="Read URLs, one per line."),
        click.option("--demo", is_flag=True, help=demo_help),
        click.option("--concurrency", "-c", default="8", show_default=True),
        click.option(
            "--workload", type=click.Choice(WORKLOADS), default="fetch", show_default=True
        ),
        click.option("--json", "as_json", is_flag=True, help=json_help),
        click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds."),
    ]

    def decorate(func: _Command) -> _Command:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _demo_batch(origin_url: str, workload: str) -> Iterable[str]:
    return (cpu_batch if workload == Workload.CPU.value else local_demo)(origin_url)


def _usage_error(exc: InvalidInput) -> click.UsageError:
    """The server's message for a bad value, its field named once ("total must be at least 1",
    not "total: total must be at least 1")."""
    message = exc.message if exc.message.startswith(exc.field) else f"{exc.field}: {exc.message}"
    return click.UsageError(message)


def _batch_spec(
    urls: tuple[str, ...],
    url_file: TextIO | None,
    demo: bool,
    concurrency: str,
    workload: str,
    strategy: str,
    settings: Settings,
    demo_batch: Callable[[str, str], Iterable[str]] = _demo_batch,
) -> RunSpec:
    """The batch the options describe, checked as the API checks it (bad input exits 2)."""
    collected = list(urls)
    if url_file is not None:
        collected += parse_url_lines(url_file.read())
    if demo:
        collected += demo_batch(settings.origin_url, workload)
    if not collected:
        raise click.UsageError("give URLs as arguments, --file FILE, or --demo")
    data = dict(urls=collected, strategy=strategy, concurrency=concurrency, workload=workload)
    try:
        return build_spec(data, settings)
    except InvalidInput as exc:
        raise _usage_error(exc) from None


def _fail(message: str) -> None:
    click.echo(f"fanout: {message}", err=True)
    sys.exit(1)


@contextmanager
def _connected(settings: Settings) -> Iterator[Redis]:
    """Redis for one command. An unreachable Redis, or a run still going after --timeout, ends
    the command with a message and exit status 1 rather than a traceback; a value the server's
    checks refuse, with a usage error (exit status 2)."""
    try:
        yield connect(settings)
    except InvalidInput as exc:
        raise _usage_error(exc) from None
    except RedisError as exc:
        _fail(f"Redis at {settings.redis_url} is unreachable ({exc}); is `make up` running?")
    except RunTimeout as exc:
        _fail(str(exc))


def _announce(what: str, page: str) -> None:
    """The id and its page at once, on stderr and outside the progress bar (which is erased at
    the end), so the page can be opened while the batch runs."""
    click.echo(f"fanout: {what} submitted: {page}", err=True)


@contextmanager
def _interruptible(kind: str, batch_id: str, page: str) -> Iterator[None]:
    """Announce the batch, then wait for it. Ctrl-C ends the wait, not the batch: the workers
    have its jobs and go on. Say so, with where to see it, and exit as a shell expects of an
    interrupted command."""
    try:
        _announce(f"{kind} {batch_id}", page)  # in the try: a Ctrl-C right after it is caught
        yield
    except KeyboardInterrupt:
        click.echo(
            f"fanout: interrupted; the {kind} {batch_id} continues on the server: {page}", err=True
        )
        click.echo(
            f"fanout: there is no cancel: the {kind} goes on to its end, which its page shows live",
            err=True,
        )
        sys.exit(128 + signal.SIGINT)  # the shell's exit status for a command ended by SIGINT


@click.command()
@_batch_options()
@click.option(
    "--strategy", "-s", type=click.Choice(STRATEGIES), default="threads", show_default=True
)
def run(as_json: bool, timeout: float, strategy: str, **batch: Any) -> None:
    """Submit one run and print each URL's outcome as it ends, then the summary."""
    settings = _settings()
    spec = _batch_spec(strategy=strategy, settings=settings, **batch)
    with _connected(settings) as redis:
        run_id = submit_run(redis, fanout_queue(redis), spec, settings)
        page = f"{settings.web_url}/runs/{run_id}"
        with _interruptible("run", run_id, page):
            from fanout import watch  # rich's bars: imported once the run is on its way

            wait = watch.wait if as_json else watch.follow
            record = wait(redis, run_id, f"run {run_id} ({strategy})", len(spec.urls), timeout)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    for line in summary_lines(record):
        say(line)
    say(f"[i] run page: {page}")


@click.command()
@_batch_options()
@click.option(
    "--strategies", default=",".join(STRATEGIES), show_default=True,
    help="Comma-separated strategies, run one after another.",
)  # fmt: skip
@click.option(
    "--repeat", type=click.IntRange(1, 10), default=1, show_default=True,
    help="Run each strategy N times, interleaved; the table shows medians and ranges.",
)  # fmt: skip
def compare(as_json: bool, timeout: float, strategies: str, repeat: int, **batch: Any) -> None:
    """Run the same batch under every strategy, one run at a time, and print a table."""
    settings = _settings()
    chosen = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown or not chosen:
        raise click.UsageError(f"unknown strategies {unknown}; choose from {', '.join(STRATEGIES)}")
    spec = _batch_spec(strategy=chosen[0], settings=settings, **batch)
    with _connected(settings) as redis:
        comparison_id, _ = submit_comparison(
            redis, fanout_queue(redis), spec, settings, [Strategy(s) for s in chosen], repeat=repeat
        )
        page = f"{settings.web_url}/compare/{comparison_id}"
        with _interruptible("comparison", comparison_id, page):
            from fanout import watch  # rich's bars: imported once the runs are on their way
            from producer.reader import load_comparison

            watch.wait_for_comparison(redis, comparison_id, timeout)
        comparison = load_comparison(redis, comparison_id, include_tasks=as_json)
    if as_json:
        click.echo(json.dumps(comparison, indent=2))
        return
    from rich.console import Console

    from fanout.table import comparison_footer, comparison_lines, comparison_table

    out = Console()
    if out.is_terminal:
        out.print(comparison_table(comparison))
        lines = comparison_footer(comparison)
    else:
        lines = comparison_lines(comparison)
    for line in lines:
        say(line)
    say(f"[i] comparison page: {page}")


# --- scaling ---------------------------------------------------------------------------------


@click.group()
def workers() -> None:
    """The worker target that every host's `fanout worker` follows."""


# ignore_unknown_options: `scale -1` is a value for N, which the bounds below then refuse,
# rather than an unknown option `-1`.
@workers.command("scale", context_settings={"ignore_unknown_options": True})
@click.argument("n", type=int)
@click.option("--per-host", is_flag=True, help="N on every host (default: N in total).")
def workers_scale(n: int, per_host: bool) -> None:
    """Set the target: N workers in total over the live hosts, or N on each with --per-host.

    N is checked by the server's bounds: a total from 1 to the live hosts times
    FANOUT_MAX_WORKERS_PER_HOST, or 0 to FANOUT_MAX_WORKERS_PER_HOST per host."""
    from contract.target import Target, TargetMode
    from producer.scaling import TargetLocked, check_target, set_target, target_overview

    settings = _settings()
    target = Target(TargetMode.PER_HOST if per_host else TargetMode.TOTAL, n)
    with _connected(settings) as redis:
        if per_host or n < 1:
            # Bounds that hold whatever hosts are live (a total's upper bound needs them): refused
            # here by the server's own check, before Redis is reached.
            check_target(target, 0, settings.max_workers_per_host)
        try:
            set_target(redis, target, settings.max_workers_per_host)
        except TargetLocked as exc:
            _fail(str(exc))
        overview = target_overview(redis, settings.max_workers_per_host)
    say(f"[i] target: {counted(n, 'worker')} {'per host' if per_host else 'in total'}")
    for host in overview["hosts"]:
        say(f"[i] {host['host']}: {count(host['share'])} to run, {count(host['live'])} live now")


# --- the process tree ------------------------------------------------------------------------


@click.command()
@click.option("--watch", is_flag=True, help="Redraw every INTERVAL seconds until Ctrl-C.")
@click.option(
    "--interval", type=click.FloatRange(0.5, 60), default=1.0, show_default=True,
    help="Seconds between redraws with --watch.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the snapshots as JSON.")
def ps(watch: bool, interval: float, as_json: bool) -> None:
    """Every live host's process tree: supervisor, workers, children (as `ps -f --forest`)."""
    from fanout.ps import tree_lines
    from producer.proctree import read_trees

    settings = _settings()
    with _connected(settings) as redis:
        try:
            while True:
                trees = read_trees(redis)
                if as_json:
                    click.echo(json.dumps(trees, indent=None if watch else 2))
                else:
                    if watch and sys.stdout.isatty():
                        click.clear()
                    for line in tree_lines(trees):
                        say(line)
                if not watch:
                    return
                time.sleep(interval)
                if not as_json and not sys.stdout.isatty():
                    say("")
        except KeyboardInterrupt:  # how a --watch ends
            return


@click.command()
@_batch_options(
    "The ready-made batch: 80 x /delay/200 on the local origin (with --workload cpu, 80 x "
    "the cpu workload).",
    "Print the whole sweep as JSON.",
)
@click.option("--workers", "counts", default="1,2,4,8", show_default=True,
              help="Comma-separated totals of workers, each measured in turn.")  # fmt: skip
@click.option(
    "--strategy", "-s", type=click.Choice(SWEEP_STRATEGIES), default="queue", show_default=True
)
def sweep(as_json: bool, timeout: float, counts: str, strategy: str, **batch: Any) -> None:
    """Run one batch at each total of workers and fit the Universal Scalability Law."""
    from fanout.sweep_table import sweep_lines
    from producer.presets import sweep_batch
    from producer.sweep import SweepBusy, create_sweep, load_sweep

    settings = _settings()
    try:
        totals = [int(part) for part in counts.split(",") if part.strip()]
    except ValueError:
        raise click.UsageError(
            "--workers takes comma-separated whole numbers, e.g. 1,2,4,8"
        ) from None
    spec = _batch_spec(
        strategy=strategy,
        settings=settings,
        **batch,
        demo_batch=lambda origin_url, workload: sweep_batch(origin_url, Workload(workload)),
    )
    with _connected(settings) as redis:
        try:
            sweep_id = create_sweep(
                redis, spec, totals, settings.max_workers_per_host, settings.ttl_s
            )
        except SweepBusy as exc:
            _fail(str(exc))
        _announce(f"sweep {sweep_id}", f"{settings.web_url}/sweeps/{sweep_id}")
        deadline = time.monotonic() + timeout
        record = load_sweep(redis, sweep_id)
        while record["state"] in ("queued", "running"):
            if time.monotonic() > deadline:
                _fail(f"sweep {sweep_id} not done after {timeout:.0f} s")
            time.sleep(0.5)
            record = load_sweep(redis, sweep_id)
    if as_json:
        click.echo(json.dumps(record, indent=2))
    else:
        for line in sweep_lines(record):
            say(line)
        say(f"[i] sweep page: {settings.web_url}/sweeps/{sweep_id}")
    if record["state"] != "done":
        sys.exit(1)
