"""bench/RESULTS.md: machine facts, the targets table, then one table per scenario."""

from __future__ import annotations

import os
import platform
import statistics
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import psutil

from bench.model import Outcome, Series, fmt, ratio

HOW_TO_READ = """\
- **wall s**: from `producer.submit.submit_run` to the last task's end (`finished_at -
  submitted_at` of the run record), i.e. what a user waits, queue pick-up included. Direct
  baselines: the program's own loop, timed inside a fresh interpreter. Bare RQ: from
  `enqueue_many` to the last job's `ended_at`.
- **eff (nominal)** = ideal / wall with ideal = max(d, n x d / slots), d the origin's nominal
  delay, slots = concurrency (one job) or workers x threads (queue, hybrid).
- **eff (fanout summary)**: fanout's own efficiency from the task records (measured durations,
  first start to last end), as the web page shows it.
- **vs baseline**: this row's median divided by its baseline's median, both measured in the same
  repetition loop (for times, ms and bytes: lower is better; 1.00x = as fast as bare).
- Cells are the median of the repetitions, with (min-max) when there were several.
"""


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def machine_facts(redis_version: str) -> list[tuple[str, str]]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), ""
    )
    usable = len(os.sched_getaffinity(0))
    memory_gib = psutil.virtual_memory().total / 1024**3
    return [
        ("cores", f"{os.cpu_count()} ({usable} usable by this process) {model}".strip()),
        ("memory", f"{memory_gib:.1f} GiB"),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("RQ", _pkg("rq")),
        ("redis-py", _pkg("redis")),
        ("Redis server", redis_version),
        ("requests / aiohttp", f"{_pkg('requests')} / {_pkg('aiohttp')}"),
        ("PYTHONDONTWRITEBYTECODE", os.environ.get("PYTHONDONTWRITEBYTECODE", "unset")),
    ]


def _cell(series: Series, metric: str) -> str:
    """The median, and (min-max) when there were several samples."""
    values = series.values(metric)
    if len(values) < 2:
        return fmt(values[0] if values else None)
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}-{fmt(max(values))})"


def _scenario_table(outcome: Outcome) -> list[str]:
    headers = ["series", *(h for _, h in outcome.columns)]
    if outcome.ratio:
        headers.append("vs baseline")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for series in outcome.series:
        label = f"{series.label} (baseline)" if series.baseline else series.label
        cells = [label, *(_cell(series, metric) for metric, _ in outcome.columns)]
        if outcome.ratio:
            cells.append(_vs(outcome, series))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _vs(outcome: Outcome, series: Series) -> str:
    if not series.ref or not outcome.ratio:
        return ""
    ref = next((s for s in outcome.series if s.label == series.ref), None)
    if ref is None:
        return ""
    value = ratio(series.median(outcome.ratio), ref.median(outcome.ratio))
    return f"{fmt(value)}x {ref.label}" if value is not None else "-"


def _verdict(ok: bool | None, quick: bool) -> str:
    if ok is None:
        return "not measured"
    text = "met" if ok else "**missed**"
    return f"{text} (quick mode: indicative only)" if quick else text


def render(outcomes: list[Outcome], data: dict[str, Any], chart_name: str) -> str:
    """The report of `outcomes`, the run's results.json `data` giving its header."""
    quick, facts = data["quick"], data["facts"]
    mode = "quick (reduced sizes, CI smoke)" if quick else "full"
    lines = [
        "# fanout bench results",
        "",
        f"Written by `python -m bench.harness{' --quick' if quick else ''}` on "
        f"{data['written_at']}: {mode} mode, every scenario {data['reps']} time(s), "
        f"{data['seconds'] / 60:.1f} min in all, on a private stack (redis-server without "
        "persistence, the origin, and workers restarted between scenarios). Quote the ratios: "
        "absolute times belong to this machine. Every sample is kept in `results.json`; "
        "`python -m bench.harness --render` rewrites this file and the chart from it.",
        "",
        *_later_lines(data.get("skipped", []), data.get("spliced", [])),
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in facts),
        "",
        "## How to read",
        "",
        HOW_TO_READ,
        "## Targets",
        "",
        "`others`: cores that processes other than the bench's kept busy during the scenario "
        "(this machine may be shared); a baseline measured in the same loop saw the same load.",
        "",
        "| scenario | target | fanout | baseline | result | others |",
        "|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        others = fmt(outcome.others_cores)
        if outcome.error:
            lines.append(f"| {outcome.name} | (scenario failed) | - | - | **error** | {others} |")
        for check in outcome.checks:
            lines.append(
                f"| {outcome.name} | {check.target} | {check.measured} | {check.baseline} | "
                f"{_verdict(check.ok, quick)} | {others} |"
            )
    lines += [
        "",
        "## Scaling",
        "",
        f"![throughput and efficiency against worker count]({chart_name})",
        "",
        "The chart's series come from the `queue-scaling` and `hybrid-scaling` scenarios below.",
        "",
    ]
    for outcome in outcomes:
        lines += [f"## {outcome.name}: {outcome.title}", ""]
        if outcome.error:
            lines += ["Failed:", "", "```", outcome.error.strip(), "```", ""]
        if outcome.series:
            lines += [*_scenario_table(outcome), ""]
        lines += [f"- {note}" for note in outcome.notes]
        lines += [f"- took {outcome.seconds:.0f} s", ""]
        if outcome.comment:
            lines += [outcome.comment, ""]
    return "\n".join(lines)


def _later_lines(skipped: list[str], spliced: list[dict[str, Any]]) -> list[str]:
    """What the header's run did not measure: scenarios left out, and ones measured later
    and spliced in (`bench.harness.splice`)."""
    lines = []
    if skipped:
        lines.append(f"Not run this time: {', '.join(skipped)}.")
    for entry in spliced:
        load = ", ".join(f"{x:.2f}" for x in entry.get("load_average", []))
        lines.append(
            f"Measured later and spliced in: {', '.join(entry['scenarios'])}, on "
            f"{entry['written_at']} ({entry['seconds'] / 60:.1f} min; load average at the end "
            f"{load or 'not recorded'})."
        )
    return [*lines, ""] if lines else []
