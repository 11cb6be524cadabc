"""How the CLI prints a run: the original tutorial's lines, then the numbers that explain them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from producer import hostnote


def task_line(task: dict[str, Any]) -> str:
    domain = urlsplit(task["url"]).hostname or "?"
    if task["state"] == "ok":
        return f"[+] {domain} [{task['url']}]: {task['bytes']} bytes."
    detail = task.get("error") or f"status {task.get('status_code')}"
    return f"[-] {domain} [{task['url']}]: {task['state']} ({detail})"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def busy_warning(
    host_load: dict[str, Any], advice: str, strategies: list[str] | None = None
) -> str:
    """Other processes on a worker host take cores from the runs, so their figures understate
    fanout: the line `producer.hostnote` words for the page and the API alike."""
    return hostnote.busy_line(host_load, advice, strategies)


def summary_lines(run: dict[str, Any]) -> list[str]:
    summary = run["summary"]
    counts = ", ".join(f"{state} {n}" for state, n in summary["counts"].items() if n)
    spec = run["spec"]
    lines = [
        f"[i] Time transcurred: {number(summary['wall_s'], 3)} s",
        f"[i] {spec['strategy']} x{spec['concurrency']} ({spec['workload']}), "
        f"{run['total']} URLs: {counts}",
    ]
    workers = summary.get("workers")
    if workers:
        lines.append(f"[i] served by {workers['served']} workers")
    lines.append(
        f"[i] ideal {seconds(summary['ideal_s'])}, efficiency {number(summary['efficiency'])}, "
        f"speed-up over the sum {number(summary['speedup'])}x, peak concurrency "
        f"{summary['peak_concurrency']}, throughput {number(summary['throughput_per_s'], 1)}/s, "
        f"latency {seconds(summary['latency_s'])}"
    )
    if run.get("provisional"):
        lines.append(f"[i] provisional: the run is {run['state']}; these figures will change")
    host_load = run.get("host_load")
    if host_load and host_load.get("busy"):
        lines.append(busy_warning(host_load, "try fanout compare --repeat 3"))
    return lines
