"""How the CLI waits for a batch: progress bars on stderr (erased when done, shown only on a
terminal), and each task's line on stdout as the task ends."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any

from redis import Redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fanout.report import task_line
from producer.reader import load_comparison, load_run
from producer.wait import follow_run, wait_for_run, wait_until_final


def _progress(console: Console, *, redirect_stdout: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
        redirect_stdout=redirect_stdout,
    )


def say(line: str) -> None:
    """One line on stdout, flushed now: a pipe would otherwise hold it until the batch ends.
    Plain `print`, so that under a live progress bar rich's stdout proxy puts it above the bar."""
    print(line, flush=True)


def follow(redis: Redis, run_id: str, label: str, total: int, timeout_s: float) -> dict[str, Any]:
    """Print each task's line as it ends, in the order they end, as the tutorial did."""
    # On a terminal the bar and the lines share the screen: rich prints stdout above the bar.
    # Redirected, stdout must stay stdout, and the bar (if stderr is a terminal) stays apart.
    with _progress(Console(stderr=True), redirect_stdout=sys.stdout.isatty()) as progress:
        bar = progress.add_task(label, total=total)

        def show(tasks: list[dict[str, Any]], done: int, _total: int) -> None:
            for task in tasks:
                say(task_line(task))
            progress.update(bar, completed=done)

        record = follow_run(redis, run_id, show, timeout_s=timeout_s)
    return wait_until_final(redis, run_id, record)


def wait(redis: Redis, run_id: str, label: str, total: int, timeout_s: float) -> dict[str, Any]:
    """Wait under a progress bar alone, for --json: nothing reaches stdout before the record."""
    with _progress(Console(stderr=True)) as progress:
        bar = progress.add_task(label, total=total)
        record = wait_for_run(
            redis,
            run_id,
            timeout_s=timeout_s,
            on_progress=lambda done, _total: progress.update(bar, completed=done),
        )
    return wait_until_final(redis, run_id, record)


def wait_for_comparison(redis: Redis, comparison_id: str, timeout_s: float) -> None:
    """Wait for every run of the comparison in the order they run, one bar per strategy."""
    runs = load_comparison(redis, comparison_id, include_tasks=False)["runs"]
    tasks_per_strategy: Counter[str] = Counter()
    for run in runs:
        tasks_per_strategy[run["spec"]["strategy"]] += run["total"]
    deadline = time.monotonic() + timeout_s
    with _progress(Console(stderr=True)) as progress:
        bars = {s: progress.add_task(s, total=n) for s, n in tasks_per_strategy.items()}
        ended: Counter[str] = Counter()
        for run in runs:
            strategy = run["spec"]["strategy"]
            wait_for_run(
                redis,
                run["id"],
                timeout_s=max(1.0, deadline - time.monotonic()),
                on_progress=lambda done, _total, bar=bars[strategy], before=ended[strategy]: (
                    progress.update(bar, completed=before + done)
                ),
            )
            ended[strategy] += run["total"]
    for run in runs:  # the last ones' host load comes after their last task
        record = load_run(redis, run["id"], include_tasks=False)
        wait_until_final(redis, run["id"], record, include_tasks=False)
