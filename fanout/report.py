"""How the CLI prints a run: the original tutorial's lines, then the numbers that explain them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table


def task_line(task: dict[str, Any]) -> str:
    domain = urlsplit(task["url"]).hostname or "?"
    if task["state"] == "ok":
        return f"[+] {domain} [{task['url']}]: {task['bytes']} bytes."
    detail = task.get("error") or f"status {task.get('status_code')}"
    return f"[-] {domain} [{task['url']}]: {task['state']} ({detail})"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def _x(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary_lines(run: dict[str, Any]) -> list[str]:
    summary = run["summary"]
    counts = ", ".join(f"{state} {n}" for state, n in summary["counts"].items() if n)
    spec = run["spec"]
    return [
        f"[i] Time transcurred: {_x(summary['wall_s'], 3)} s",
        f"[i] {spec['strategy']} x{spec['concurrency']} ({spec['workload']}), "
        f"{run['total']} URLs: {counts}",
        f"[i] ideal {_s(summary['ideal_s'])}, efficiency {_x(summary['efficiency'])}, "
        f"speed-up over the sum {_x(summary['speedup'])}x, peak concurrency "
        f"{summary['peak_concurrency']}, throughput {_x(summary['throughput_per_s'], 1)}/s, "
        f"latency {_s(summary['latency_s'])}",
    ]


def print_run(run: dict[str, Any], console: Console) -> None:
    for task in run["tasks"]:
        console.print(task_line(task), markup=False, highlight=False, soft_wrap=True)
    for line in summary_lines(run):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def comparison_table(comparison: dict[str, Any]) -> Table:
    runs = comparison["runs"]
    baseline = next(
        (r["summary"]["wall_s"] for r in runs if r["spec"]["strategy"] == "sequential"), None
    )
    spec = comparison["spec"]
    table = Table(
        title=f"{len(spec['urls'])} URLs, concurrency {spec['concurrency']}, {spec['workload']}"
    )
    for column in ("strategy", "wall", "ideal", "efficiency", "speed-up vs sequential", "ok"):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for run in runs:
        summary = run["summary"]
        wall = summary["wall_s"]
        speedup = baseline / wall if baseline and wall else None
        table.add_row(
            run["spec"]["strategy"],
            _s(wall),
            _s(summary["ideal_s"]),
            _x(summary["efficiency"]),
            "-" if speedup is None else f"{speedup:.2f}x",
            f"{summary['counts']['ok']}/{run['total']}",
        )
    return table
