"""The compare page's rows: one per strategy, each saying whether its figures are final.

Built from the reader's `rows` (median and min-max range over a strategy's repeated runs). A
speed-up over sequential is a verdict, given only once both runs behind it are final: a run at
4 of 40 tasks once showed "6.63x vs sequential" in bold. The live page takes the server's rendering
of them (static/compare.js), and its chart reads them from the page (`chart`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from web.formats import percent, seconds, times
from web.presentation import DASH

Stats = dict[str, float]

#: The figures of a row, and how each is written.
FORMATS: dict[str, Callable[[float | None], str]] = {
    "wall_s": seconds,
    "ideal_s": seconds,
    "efficiency": percent,
    "speedup": times,
    "vs_sequential": times,
}

_UNIT = re.compile(r"[^\d]*$")


def span(fmt: Callable[[float | None], str], low: float, high: float) -> str:
    """Low to high with the unit written once, an en dash between: 1.200 to 1.310 s reads
    "1.200\u20131.310 s", 80 to 85 % reads "80\u201385 %"."""
    first, last = fmt(low), fmt(high)
    found = _UNIT.search(last)  # always matches, maybe empty
    unit = found.group() if found else ""
    if unit and first.endswith(unit):
        first = first[: -len(unit)]
    return f"{first}\u2013{last}"


def figure(name: str, stats: Stats | None) -> dict[str, str | None]:
    """The median as text, and the range when the runs differ at the shown precision."""
    fmt = FORMATS[name]
    if stats is None:
        return {"text": DASH, "range": None}
    spread = fmt(stats["min"]) != fmt(stats["max"])
    return {
        "text": fmt(stats["median"]),
        "range": span(fmt, stats["min"], stats["max"]) if spread else None,
    }


def _point(value: float | None) -> Stats | None:
    return None if value is None else {"median": value, "min": value, "max": value}


def _state(runs: list[dict[str, Any]]) -> str:
    states = {run["state"] for run in runs}
    if states == {"done"}:
        return "done"
    return "running" if states & {"running", "done"} else "queued"


def _progress(runs: list[dict[str, Any]], done_runs: int) -> str:
    """Tasks ended of a single run; with repeats, runs done, then the going run's tasks."""
    going = next((run for run in runs if run["state"] == "running"), None)
    if len(runs) == 1:
        return f"{runs[0]['done']}/{runs[0]['total']}"
    text = f"{done_runs}/{len(runs)} runs"
    return f"{text} · {going['done']}/{going['total']}" if going else text


def compare_rows(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per strategy, in order, from the reader's rows; a strategy with no run done yet
    shows its going run's figures (a queued one its first run's: "0/40" tasks ok, as its progress
    says). `verdict` (the speed-up vs sequential) only when both this strategy and sequential are
    final."""
    by_id = {run["id"]: run for run in comparison["runs"]}
    rows = []
    for row in comparison["rows"]:
        runs = [by_id[run_id] for run_id in row["run_ids"] if run_id in by_id]
        stats = {name: row.get(name) for name in FORMATS}
        totals = (row["peak_concurrency"], row["ok"], row["tasks"])
        going = next((run for run in runs if run["state"] == "running"), None)
        current = going or (runs[0] if runs else None)  # a queued strategy: its next run's
        if not row["done"] and current is not None:
            s = current["summary"]
            stats = {name: _point(s.get(name)) for name in FORMATS if name != "vs_sequential"}
            stats["vs_sequential"] = None
            totals = (s["peak_concurrency"], current["counts"]["ok"], current["total"])
        final, (peak, ok, tasks) = bool(row["final"]), totals
        rows.append(
            {
                "strategy": row["strategy"],
                "run_id": runs[0]["id"] if runs else None,
                "run_ids": [run["id"] for run in runs],
                "state": "done" if final else _state(runs) if runs else "queued",
                "final": final,
                "progress": _progress(runs, row["done"]) if runs else DASH,
                "stats": stats,
                "figures": {name: figure(name, stats.get(name)) for name in FORMATS},
                "peak_concurrency": DASH if peak is None else str(peak),
                "ok": f"{ok}/{tasks}",
                "busy": any((run.get("host_load") or {}).get("busy") for run in runs),
            }
        )
    sequential = next((row for row in rows if row["strategy"] == "sequential"), None)
    judged = sequential is not None and sequential["final"]
    for row in rows:
        verdict = row["stats"]["vs_sequential"] if judged and row["final"] else None
        row["verdict"] = figure("vs_sequential", verdict) if verdict else None
    return rows


def compare_context(comparison: dict[str, Any]) -> dict[str, Any]:
    """What compare.html needs besides the record."""
    rows = compare_rows(comparison)
    repeat = int(comparison.get("repeat") or 1)
    timelines = []
    for run in comparison["runs"]:
        label = run["spec"]["strategy"]
        if repeat > 1 and run.get("repeat_index") is not None:
            label += f" · run {run['repeat_index'] + 1} of {repeat}"
        timelines.append({"run": run, "label": label})
    return {
        "rows": rows,
        "any_final": any(row["final"] for row in rows),
        "busy": [row["strategy"] for row in rows if row["busy"]],
        "repeat": repeat,
        "timelines": timelines,
        "chart": {
            "rows": rows,
            "runs": [
                {"id": run["id"], "state": run["state"], "strategy": run["spec"]["strategy"]}
                for run in comparison["runs"]
            ],
            "state": comparison["state"],
            "final": comparison["state"] == "done" and not comparison.get("provisional", False),
        },
    }
