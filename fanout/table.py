"""How the CLI prints a comparison: one row per strategy, with the median and the range of its
runs when each strategy ran several times. A terminal gets a rich table; a file, a pipe or a CI
log gets plain aligned text that `grep` and `awk` can read."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from rich.table import Table

from fanout.report import busy_warning

#: Joins the least and the greatest of a range: an en dash (U+2013).
RANGE_DASH = "\u2013"

HEADERS = ["strategy", "wall", "ideal", "efficiency", "speed-up vs sequential", "ok"]


def _spread(values: Iterable[float | None]) -> dict[str, float] | None:
    known = [value for value in values if value is not None]
    if not known:
        return None
    return {"median": statistics.median(known), "min": min(known), "max": max(known)}


def rows_from_runs(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """The comparison's `rows` for a record that has none (written before the producer built
    them): runs grouped by strategy, figures over the runs that are done, and the speed-up over
    sequential paired by repeat index, as the producer pairs it."""
    by_strategy: dict[str, list[dict[str, Any]]] = {s: [] for s in comparison.get("strategies", [])}
    for run in comparison["runs"]:
        by_strategy.setdefault(run["spec"]["strategy"], []).append(run)
    indexed = {
        strategy: [(run.get("repeat_index", position), run) for position, run in enumerate(runs)]
        for strategy, runs in by_strategy.items()
    }
    baseline = {
        index: run["summary"]["wall_s"]
        for index, run in indexed.get("sequential", [])
        if run["state"] == "done"
    }
    rows = []
    for strategy, runs in indexed.items():
        done = [(index, run) for index, run in runs if run["state"] == "done"]
        summaries = [run["summary"] for _, run in done]
        ratios = [
            baseline[index] / run["summary"]["wall_s"]
            for index, run in done
            if baseline.get(index) and run["summary"]["wall_s"]
        ]
        rows.append(
            {
                "strategy": strategy,
                "run_ids": [run["id"] for _, run in runs],
                "done": len(done),
                "total": len(runs),
                "final": len(done) == len(runs),
                "wall_s": _spread(s["wall_s"] for s in summaries),
                "ideal_s": _spread(s["ideal_s"] for s in summaries),
                "efficiency": _spread(s["efficiency"] for s in summaries),
                "speedup": _spread(s["speedup"] for s in summaries),
                "vs_sequential": _spread(ratios),
                "peak_concurrency": max((s["peak_concurrency"] for s in summaries), default=None),
                "ok": sum(s["counts"].get("ok", 0) for s in summaries),
                "tasks": sum(run["total"] for _, run in done),
                "busy": any((run.get("host_load") or {}).get("busy") for _, run in runs),
            }
        )
    return rows


def comparison_rows(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    rows = comparison.get("rows")
    return rows if rows is not None else rows_from_runs(comparison)


def _repeat(comparison: dict[str, Any], rows: list[dict[str, Any]]) -> int:
    return comparison.get("repeat") or max((len(row["run_ids"]) for row in rows), default=1)


def _cell(stat: dict[str, float] | None, median: str, ranged: bool) -> str:
    """`median` formats the median; the range keeps two decimals."""
    if stat is None:
        return "-"
    text = median.format(stat["median"])
    return f"{text} ({stat['min']:.2f}{RANGE_DASH}{stat['max']:.2f})" if ranged else text


def comparison_cells(comparison: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The headers and one row of text cells per strategy, for either kind of table."""
    rows = comparison_rows(comparison)
    ranged = _repeat(comparison, rows) > 1
    cells = []
    for row in rows:
        strategy = row["strategy"]
        if not row["final"]:
            strategy += f" (so far, {row['done']}/{row['total']} runs)"
        cells.append(
            [
                strategy,
                _cell(row["wall_s"], "{:.3f} s", ranged),
                _cell(row["ideal_s"], "{:.3f} s", ranged),
                _cell(row["efficiency"], "{:.2f}", ranged),
                _cell(row["vs_sequential"], "{:.2f}x", ranged),
                f"{row['ok']}/{row['tasks']}",
            ]
        )
    return HEADERS, cells


def comparison_title(comparison: dict[str, Any]) -> str:
    spec = comparison["spec"]
    title = f"{len(spec['urls'])} URLs, concurrency {spec['concurrency']}, {spec['workload']}"
    repeat = _repeat(comparison, comparison_rows(comparison))
    if repeat > 1:
        title += f"; each strategy run {repeat} times: median (min{RANGE_DASH}max)"
    if comparison.get("provisional"):
        title += " (provisional: not every run is done)"
    return title


def comparison_warning(comparison: dict[str, Any]) -> str | None:
    """One line naming the strategies whose runs met a busy worker host, with the most cores
    other processes took from any of them."""
    busy = [row["strategy"] for row in comparison_rows(comparison) if row["busy"]]
    if not busy:
        return None
    loads = [
        run["host_load"]
        for run in comparison["runs"]
        if run.get("host_load") and run["host_load"].get("busy")
    ]
    others: dict[str, float] = {}
    for load in loads:
        for host, cores in (load.get("others_cores") or {}).items():
            others[host] = max(cores, others.get(host, 0.0))
    worst = {
        "others_cores": others,
        "max_others_cores": max((load["max_others_cores"] for load in loads), default=None),
    }
    repeat = _repeat(comparison, comparison_rows(comparison))
    advice = "try --repeat 3" if repeat <= 1 else "try a larger --repeat"
    return busy_warning(worst, advice, busy)


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


def comparison_lines(comparison: dict[str, Any]) -> list[str]:
    """The whole comparison as plain text: title, table, and the busy-host warning if any."""
    lines = [comparison_title(comparison), *plain_table(*comparison_cells(comparison))]
    warning = comparison_warning(comparison)
    return [*lines, warning] if warning else lines


def comparison_table(comparison: dict[str, Any]) -> Table:
    """The same cells as a rich table, for a terminal."""
    headers, rows = comparison_cells(comparison)
    table = Table(title=comparison_title(comparison))
    for header in headers:
        table.add_column(header, justify="left" if header == "strategy" else "right")
    for row in rows:
        table.add_row(*row)
    return table
