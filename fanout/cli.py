"""`fanout`: one console script with subcommands, like `rq` and `celery`."""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from contract.settings import Settings
from contract.states import Strategy, Workload

STRATEGIES = [s.value for s in Strategy]
WORKLOADS = [w.value for w in Workload]


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


class LazyGroup(click.Group):
    """A group whose named subcommands are imported when called (click's documented pattern):
    the service commands here load none of the producer's code."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module, name = self.lazy[cmd_name].rsplit(".", 1)
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)


PRODUCER_COMMANDS = {
    name: f"fanout.producer_commands.{name}"
    for name in ("run", "compare", "sweep", "workers", "ps")
}


@click.group(
    cls=LazyGroup, lazy=PRODUCER_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]}
)
def main() -> None:
    """fanout: a job-queue concurrency lab (Redis + RQ)."""
    # The interpreter's last collection at exit walks every object of the modules loaded
    # (redis, rq, requests, rich): 70-150 ms between the last line and the exit on a 2-core
    # host (0.4-1 s when it is busy), against 10-20 ms with the objects frozen out of the
    # collector's reach. Registered first, it runs last, after every other exit handler.
    atexit.register(gc.freeze)


# --- services --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--workers", type=click.IntRange(1, 64), envvar="WORKERS", default=2, show_default=True
)
def up(workers: int) -> None:
    """Start the local stack: Redis, origin, web, WORKERS workers and the conductor."""
    from fanout.redis_check import persistence_line
    from fanout.stack import run_stack

    settings = _settings()
    click.echo(
        f"fanout: web http://{settings.web_host}:{settings.web_port}  origin {settings.origin_url}"
        f"  redis {settings.redis_url}  workers {workers}"
    )
    click.echo(f"fanout: {persistence_line(settings)}")
    sys.exit(run_stack(workers))


@main.command()
def redis() -> None:
    """Run the embedded redis-server, unless REDIS_URL points at another Redis."""
    from fanout.redis_server import run_redis_server

    settings = _settings()
    if not settings.redis_url_is_default:
        click.echo("using the Redis at REDIS_URL; no embedded redis-server started")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return
    data_dir = Path(os.environ.get("FANOUT_DATA_DIR", ".fanout")) / "redis"
    sys.exit(run_redis_server(settings.redis_url, data_dir))


@main.command()
@click.option("--host", envvar="ORIGIN_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="ORIGIN_PORT", type=int, default=8081, show_default=True)
def origin(host: str, port: int) -> None:
    """Run the local origin server that demos, tests and benchmarks fetch from."""
    from origin.server import serve

    serve(host, port)


@main.command()
@click.option("--host", envvar="WEB_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="WEB_PORT", type=int, default=8000, show_default=True)
@click.option("--processes", envvar="WEB_PROCESSES", type=int, default=2, show_default=True)
def web(host: str, port: int, processes: int) -> None:
    """Serve the web app with gunicorn."""
    import shutil

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # One fresh directory per start, so /metrics adds up every gunicorn process.
        metrics_dir = Path(os.environ.get("FANOUT_DATA_DIR", ".fanout")) / f"prometheus-{port}"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    args = [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(processes),
        # gevent: a slow client costs a parked greenlet, not one of a few app threads
        # (docs/architecture.md).
        "--worker-class", "gevent",
        "--worker-connections", "1000",  # greenlets per process (gunicorn's default)
        "--no-control-socket",  # gunicorn's default, ~/.gunicorn/gunicorn.ctl, is one per host
        "--access-logfile", "-",
        "--forwarded-allow-ips", "127.0.0.1",
        "--config", "python:web.gunicorn_conf",
        "web.app:create_app()",
    ]  # fmt: skip
    os.execv(sys.executable, args)


@main.command()
@click.option(
    "--class", "worker_class", type=click.Choice(["simple", "fork"]), default="simple",
    envvar="FANOUT_WORKER_CLASS", show_default=True,
    help="simple: jobs run in the worker process; fork: a work-horse per job (RQ's default).",
)  # fmt: skip
@click.option(
    "--pool", "pool_size", type=click.IntRange(0, 256), envvar="WORKERS", default=2,
    show_default=True,
    help="Workers this host runs until a target is set (`fanout workers scale`).",
)  # fmt: skip
@click.option(
    "--host", "host_name", envvar="FANOUT_HOST", default=None,
    help="The name this host goes by in the target (default: the hostname).",
)  # fmt: skip
@click.option("--burst", is_flag=True, help="One worker that exits when the queue is empty.")
@click.option("--no-supervise", is_flag=True, help="One worker, without a supervisor.")
def worker(
    worker_class: str, pool_size: int, host_name: str | None, burst: bool, no_supervise: bool
) -> None:
    """Run this host's workers: a supervised pool that follows the worker target in Redis.

    Run it on any machine (or in another terminal) with REDIS_URL pointing at the shared Redis
    to add a host; `fanout workers scale` and the Workers page then set how many each runs.
    """
    from fanout.redis_check import persistence_line
    from worker import identity
    from worker.process import WORKER_CLASSES, connect, run_worker, wait_for_http, wait_for_redis

    settings = _settings()
    wait_for_redis(settings)
    wait_for_http([url for url in os.environ.get("FANOUT_WAIT_FOR", "").split(",") if url])
    click.echo(f"fanout worker: {persistence_line(settings)}", err=True)
    if burst or no_supervise:
        run_worker(settings, worker_class=worker_class, burst=burst)
        return
    from worker.supervisor import run_pool

    run_pool(
        connect(settings),
        host=host_name or identity.host(),
        pool_size=pool_size,
        max_size=settings.max_workers_per_host,
        worker_class=WORKER_CLASSES[worker_class],
    )


@main.command()
def conductor() -> None:
    """Release each comparison's runs one after another and drive the scaling sweeps.

    One per stack is enough (`fanout up` and compose run one); more are safe.
    """
    import logging
    import threading

    from conductor.loop import Conductor
    from contract import connection
    from worker.process import wait_for_redis

    settings = _settings()
    wait_for_redis(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    Conductor(connection.connect(settings.redis_url), settings).run(stop)
