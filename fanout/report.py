"""How the CLI prints a run: the original tutorial's lines, then the numbers that explain them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from producer import hostnote, numbers
from producer.numbers import count, counted, fixed

#: What the CLI writes for a figure it does not have (the pages write web.presentation.DASH).
DASH = "-"


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
    return DASH if value is None else f"{fixed(value, 3, grouped=True)} s"


def number(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else fixed(value, digits, grouped=True)


def worst_by_host(loads: list[dict[str, float] | None]) -> dict[str, float]:
    """Each host's greatest figure over several runs' `{host: cores}` (missing ones skipped)."""
    worst: dict[str, float] = {}
    for load in loads:
        for host, cores in (load or {}).items():
            worst[host] = max(cores, worst.get(host, 0.0))
    return worst


def worst_load(by_host: list[dict[str, float] | None], peaks: list[float | None]) -> dict[str, Any]:
    """The worst host load of several runs, as `hostnote.busy_line` words it: each host's most
    cores taken by other processes (`by_host`), and the most on any host (`peaks`)."""
    return {
        "others_cores": worst_by_host(by_host),
        "max_others_cores": max((cores for cores in peaks if cores is not None), default=None),
    }


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
    lines.append(
        f"[i] ideal {seconds(summary['ideal_s'])}, efficiency {number(summary['efficiency'])}, "
        f"speed-up over the sum {number(summary['speedup'])}x, peak concurrency "
        f"{number(summary['peak_concurrency'], 0)}, "
        f"throughput {number(summary['throughput_per_s'], 1)}/s, "
        f"latency {seconds(summary['latency_s'])}"
    )
    if run.get("provisional"):
        lines.append(f"[i] provisional: the run is {run['state']}; these figures will change")
    lines += cost_lines(run.get("cost"))
    host_load = run.get("host_load")
    if host_load and host_load.get("busy"):
        lines.append(hostnote.busy_line(host_load, "try fanout compare --repeat 3"))
    return lines


def mebibytes(value: float | None) -> str:
    return DASH if value is None else numbers.mebibytes(value)


def cost_text(figures: dict[str, Any]) -> str:
    """What the processes that ran a run cost the OS, in one line (`contract.cost`)."""
    return (
        f"memory +{mebibytes(figures['memory_added_bytes'])} over the idle worker's "
        f"{mebibytes(figures['memory_idle_bytes'])} (peak "
        f"{mebibytes(figures['memory_peak_bytes'])}), "
        f"{counted(figures['processes'], 'process', 'processes')} "
        f"({count(figures['processes_started'])} started), "
        f"{counted(figures['threads'], 'thread')} ({count(figures['threads_started'])} started), "
        f"context switches {count(figures['ctx_switches_voluntary'])} voluntary / "
        f"{count(figures['ctx_switches_involuntary'])} involuntary, "
        f"CPU {seconds(figures['cpu_user_s'])} user / {seconds(figures['cpu_system_s'])} sys"
    )


def cost_lines(cost: dict[str, Any] | None) -> list[str]:
    """The run's cost in total, then per host when more than one host ran it."""
    if not cost:
        return []
    lines = [f"[i] cost: {cost_text(cost['total'])}"]
    if len(cost["hosts"]) > 1:
        lines += [f"[i] cost on {host}: {cost_text(f)}" for host, f in cost["hosts"].items()]
    return lines
