"""How the CLI prints a comparison: one row per strategy, with the median and the range of its
runs when each strategy ran several times. A terminal gets a rich table; a file, a pipe or a CI
log gets plain aligned text that `grep` and `awk` can read."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from rich.table import Table

from fanout.report import DASH, mebibytes, number, seconds, worst_by_host, worst_load
from producer.hostnote import busy_line
from producer.numbers import count, counted, fixed

#: Joins the least and the greatest of a range: an en dash (U+2013).
RANGE_DASH = "\u2013"

#: The cost columns come before `ok`, which stays last for scripts that read the last field.
HEADERS = [
    "strategy", "wall", "ideal", "efficiency", "speed-up vs sequential",
    "memory added", "processes", "threads", "ctx switches vol/invol", "CPU user/sys", "ok",
]  # fmt: skip


def _cell(stat: dict[str, float] | None, median: Callable[[float], str], ranged: bool) -> str:
    """`median` formats the median; the range keeps two decimals."""
    if stat is None:
        return DASH
    text = median(stat["median"])
    if not ranged:
        return text
    low, high = (fixed(stat[end], 2, grouped=True) for end in ("min", "max"))
    return f"{text} ({low}{RANGE_DASH}{high})"


def comparison_cells(comparison: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The headers and one row of text cells per strategy, for either kind of table."""
    rows = comparison["rows"]
    ranged = comparison["repeat"] > 1
    cells = []
    for row in rows:
        strategy = row["strategy"]
        if not row["final"]:
            strategy += f" (so far, {row['done']}/{row['total']} runs)"
        cells.append(
            [
                strategy,
                _cell(row["wall_s"], seconds, ranged),
                _cell(row["ideal_s"], seconds, ranged),
                _cell(row["efficiency"], number, ranged),
                _cell(row["vs_sequential"], lambda v: f"{number(v)}x", ranged),
                *cost_cells(comparison, row["run_ids"]),
                f"{count(row['ok'])}/{count(row['tasks'])}",
            ]
        )
    return HEADERS, cells


def _median_cost(comparison: dict[str, Any], run_ids: list[str]) -> dict[str, float] | None:
    """Each cost figure's median over a strategy's runs (`contract.cost`, the run's total)."""
    costs = [
        run["cost"]["total"]
        for run in comparison["runs"]
        if run["id"] in run_ids and run.get("cost")
    ]
    if not costs:
        return None
    return {name: statistics.median(cost[name] for cost in costs) for name in costs[0]}


def cost_cells(comparison: dict[str, Any], run_ids: list[str]) -> list[str]:
    """A strategy's cost: memory added, processes and threads (started), context switches and
    CPU; the median of its runs when it ran several times."""
    cost = _median_cost(comparison, run_ids)
    if cost is None:
        return [DASH] * 5
    return [
        f"+{mebibytes(cost['memory_added_bytes'])}",
        f"{count(cost['processes'])} ({count(cost['processes_started'])} started)",
        f"{count(cost['threads'])} ({count(cost['threads_started'])} started)",
        f"{count(cost['ctx_switches_voluntary'])}/{count(cost['ctx_switches_involuntary'])}",
        f"{fixed(cost['cpu_user_s'], 3)}/{fixed(cost['cpu_system_s'], 3)} s",
    ]


def comparison_title(comparison: dict[str, Any]) -> str:
    spec = comparison["spec"]
    total = comparison.get("total") or len(spec.get("urls", ()))
    title = f"{counted(total, 'URL')}, concurrency {count(spec['concurrency'])}, {spec['workload']}"
    repeat = comparison["repeat"]
    if repeat > 1:
        title += f"; each strategy run {count(repeat)} times: median (min{RANGE_DASH}max)"
    if comparison.get("provisional"):
        title += " (provisional: not every run is done)"
    return title


def comparison_notes(comparison: dict[str, Any]) -> list[str]:
    """What each column is, under the table; with repeats, why a speed-up need not follow from
    the median walls (each round's ratio pairs runs that ran side by side in time)."""
    notes = [
        "[i] wall: first task's start to last task's end; ideal: the least time the tasks allow",
        "[i] efficiency: ideal / wall; speed-up vs sequential: sequential's wall / this wall",
        "[i] memory added: the peak of the worker and its pool children over the idle worker; "
        "processes and threads: those that ran the run (started: created for it)",
    ]
    if comparison["repeat"] > 1:
        notes += [
            f"[i] with repeats, each figure is the median of the rounds (min{RANGE_DASH}max)",
            "[i] speed-up vs sequential is the median of the per-round ratios (each round's "
            "sequential wall / this wall), not the ratio of the median walls",
        ]
    return notes


def comparison_warning(comparison: dict[str, Any]) -> str | None:
    """One line naming the strategies whose runs met a busy worker host, with the most cores
    other processes took from any of them (and fanout's own services, the most of each)."""
    busy = [row["strategy"] for row in comparison["rows"] if row["busy"]]
    if not busy:
        return None
    loads = [
        run["host_load"]
        for run in comparison["runs"]
        if run.get("host_load") and run["host_load"].get("busy")
    ]
    own: dict[str, dict[str, float]] = {}
    for load in loads:
        for host, parts in (load.get("own_cores") or {}).items():
            own[host] = worst_by_host([own.get(host), parts])
    worst = worst_load(
        [load.get("others_cores") for load in loads], [load["max_others_cores"] for load in loads]
    )
    worst["own_cores"] = own
    repeat = comparison["repeat"]
    advice = "try --repeat 3" if repeat <= 1 else "try a larger --repeat"
    return busy_line(worst, advice, busy)


def plain_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """Columns two spaces apart, the first left-aligned and the figures right-aligned."""
    widths = [max(len(line[i]) for line in [headers, *rows]) for i in range(len(headers))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in [headers, *rows]
    ]


def comparison_footer(comparison: dict[str, Any]) -> list[str]:
    """The lines under either table: what its columns are, and the busy-host warning if any."""
    warning = comparison_warning(comparison)
    return [*comparison_notes(comparison), *([warning] if warning else [])]


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    """The whole comparison as plain text: title, table, then its footer."""
    table = plain_table(*comparison_cells(comparison))
    return [comparison_title(comparison), *table, *comparison_footer(comparison)]


def comparison_table(comparison: dict[str, Any]) -> Table:
    """The same cells as a rich table, for a terminal."""
    headers, rows = comparison_cells(comparison)
    table = Table(title=comparison_title(comparison))
    for header in headers:
        table.add_column(header, justify="left" if header == "strategy" else "right")
    for row in rows:
        table.add_row(*row)
    return table
