"""How the CLI prints a run: the original tutorial's lines, then the numbers that explain them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from producer import hostnote
from producer.numbers import count, counted, fixed


def task_line(task: dict[str, Any]) -> str:
    """The tutorial's line for a task: its bytes, or its state and why (the state once: a
    worker's reason may start with it, as in "refused: port 0")."""
    domain = urlsplit(task["url"]).hostname or "?"
    state = task["state"]
    if state == "ok":
        return f"[+] {domain} [{task['url']}]: {counted(task['bytes'], 'byte')}."
    detail = task.get("error") or f"status {task.get('status_code')}"
    detail = detail.removeprefix(f"{state}: ")
    return f"[-] {domain} [{task['url']}]: {state} ({detail})"


def say(line: str) -> None:
    """One line on stdout, flushed now: a pipe would otherwise hold it until the batch ends.
    Plain `print`, so that under a live progress bar rich's stdout proxy puts it above the bar."""
    print(line, flush=True)


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{fixed(value, 3, grouped=True)} s"


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else fixed(value, digits, grouped=True)


def busy_warning(
    host_load: dict[str, Any], advice: str, strategies: list[str] | None = None
) -> str:
    """Other processes on a worker host take cores from the runs, so their figures understate
    fanout: the line `producer.hostnote` words for the page and the API alike."""
    return hostnote.busy_line(host_load, advice, strategies)


def summary_lines(run: dict[str, Any]) -> list[str]:
    summary = run["summary"]
    counts = ", ".join(f"{state} {count(n)}" for state, n in summary["counts"].items() if n)
    spec = run["spec"]
    lines = [
        f"[i] Time transcurred: {seconds(summary['wall_s'])}",
        f"[i] {spec['strategy']} x{count(spec['concurrency'])} ({spec['workload']}), "
        f"{counted(run['total'], 'URL')}: {counts}",
    ]
    workers = summary.get("workers")
    if workers:
        lines.append(f"[i] served by {counted(workers['served'], 'worker')}")
    peak = summary["peak_concurrency"]
    lines.append(
        f"[i] ideal {seconds(summary['ideal_s'])}, efficiency {number(summary['efficiency'])}, "
        f"speed-up over the sum {number(summary['speedup'])}x, peak concurrency "
        f"{'-' if peak is None else count(peak)}, "
        f"throughput {number(summary['throughput_per_s'], 1)}/s, "
        f"latency {seconds(summary['latency_s'])}"
    )
    if run.get("provisional"):
        lines.append(f"[i] provisional: the run is {run['state']}; these figures will change")
    host_load = run.get("host_load")
    if host_load and host_load.get("busy"):
        lines.append(busy_warning(host_load, "try fanout compare --repeat 3"))
    return lines
