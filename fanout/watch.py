"""How the CLI waits for a batch: progress bars on stderr (erased when done, shown only on a
terminal), and each task's line on stdout as the task ends."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from redis import Redis
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from fanout.report import say, task_line
from producer.numbers import count
from producer.reader import load_comparison, load_run
from producer.wait import follow_run, wait_for_run, wait_until_final


class CountColumn(ProgressColumn):
    """Tasks ended of all, grouped by thousands as everywhere else: 1,500/100,000."""

    def render(self, task: Task) -> Text:
        total = "?" if task.total is None else count(task.total)
        return Text(f"{count(task.completed)}/{total}", style="progress.download")


class OwnElapsedColumn(ProgressColumn):
    """A bar's own clock: the time its runs took (its `spent_s`, and the run going on since
    `since`), not the time since the bars appeared."""

    def render(self, task: Task) -> Text:
        spent = task.fields.get("spent_s", 0.0)
        since = task.fields.get("since")
        if since is not None:
            spent += task.get_time() - since
        return Text(str(timedelta(seconds=max(0, int(spent)))), style="progress.elapsed")


def _progress(console: Console, elapsed: ProgressColumn, **options: Any) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        CountColumn(),
        elapsed,
        console=console,
        transient=True,
        disable=not console.is_terminal,
        **options,
    )


def strategy_progress(console: Console, *, get_time: Callable[[], float] | None = None) -> Progress:
    """The bars of a comparison, one per strategy, each on its own clock (`StrategyBars`)."""
    return _progress(console, OwnElapsedColumn(), get_time=get_time)


class StrategyBars:
    """One bar per strategy of a comparison. Its clock runs only while one of the strategy's
    runs does: the runs go one at a time, so time since the bars began would charge a strategy
    with every run before its own."""

    def __init__(self, progress: Progress, tasks_per_strategy: Mapping[str, int]) -> None:
        self.progress = progress
        self.spent_s = dict.fromkeys(tasks_per_strategy, 0.0)
        self.since: dict[str, float] = {}
        self.bars: dict[str, TaskID] = {
            strategy: progress.add_task(strategy, total=total, spent_s=0.0, since=None)
            for strategy, total in tasks_per_strategy.items()
        }

    def begin(self, strategy: str) -> None:
        """One of the strategy's runs starts: its clock runs."""
        self.since[strategy] = self.progress.get_time()
        self.progress.update(self.bars[strategy], since=self.since[strategy])

    def advance(self, strategy: str, completed: int) -> None:
        self.progress.update(self.bars[strategy], completed=completed)

    def end(self, strategy: str, completed: int) -> None:
        """The run has ended: its time joins the strategy's, and the clock stops."""
        self.spent_s[strategy] += self.progress.get_time() - self.since.pop(strategy)
        self.progress.update(
            self.bars[strategy], completed=completed, spent_s=self.spent_s[strategy], since=None
        )


def follow(redis: Redis, run_id: str, label: str, total: int, timeout_s: float) -> dict[str, Any]:
    """Print each task's line as it ends, in the order they end, as the tutorial did."""
    # On a terminal the bar and the lines share the screen: rich prints stdout above the bar.
    # Redirected, stdout must stay stdout, and the bar (if stderr is a terminal) stays apart.
    console = Console(stderr=True)
    with _progress(console, TimeElapsedColumn(), redirect_stdout=sys.stdout.isatty()) as progress:
        bar = progress.add_task(label, total=total)

        def show(tasks: list[dict[str, Any]], done: int, _total: int) -> None:
            for task in tasks:
                say(task_line(task))
            progress.update(bar, completed=done)

        record = follow_run(redis, run_id, show, timeout_s=timeout_s)
    return wait_until_final(redis, run_id, record, include_tasks=False)


def wait(redis: Redis, run_id: str, label: str, total: int, timeout_s: float) -> dict[str, Any]:
    """Wait under a progress bar alone, for --json: nothing reaches stdout before the record."""
    with _progress(Console(stderr=True), TimeElapsedColumn()) as progress:
        bar = progress.add_task(label, total=total)
        record = wait_for_run(
            redis,
            run_id,
            timeout_s=timeout_s,
            on_progress=lambda done, _total: progress.update(bar, completed=done),
            include_tasks=False,
        )
    wait_until_final(redis, run_id, record, include_tasks=False)
    return load_run(redis, run_id)  # the whole record, tasks and all, read once


def wait_for_comparison(redis: Redis, comparison_id: str, timeout_s: float) -> None:
    """Wait for every run of the comparison in the order they run, one bar per strategy."""
    runs = load_comparison(redis, comparison_id, include_tasks=False)["runs"]
    tasks_per_strategy: Counter[str] = Counter()
    for run in runs:
        tasks_per_strategy[run["spec"]["strategy"]] += run["total"]
    deadline = time.monotonic() + timeout_s
    with strategy_progress(Console(stderr=True)) as progress:
        bars = StrategyBars(progress, tasks_per_strategy)
        ended: Counter[str] = Counter()
        records: dict[str, dict[str, Any]] = {}
        for run in runs:
            strategy = run["spec"]["strategy"]
            bars.begin(strategy)

            def advance(
                done: int, _total: int, strategy: str = strategy, before: int = ended[strategy]
            ) -> None:
                bars.advance(strategy, before + done)

            records[run["id"]] = wait_for_run(
                redis,
                run["id"],
                timeout_s=max(1.0, deadline - time.monotonic()),
                on_progress=advance,
                include_tasks=False,
            )
            ended[strategy] += run["total"]
            bars.end(strategy, ended[strategy])
    for run_id, record in records.items():  # the last ones' host load comes after their end
        wait_until_final(redis, run_id, record, include_tasks=False)
