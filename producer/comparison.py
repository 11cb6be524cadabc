"""A comparison's table: one row per strategy, its repeats folded into a median and a range.

Only runs that have ended count, so a row's figures are final only when all its repeats are
(`final`); "vs sequential" pairs each repeat with the sequential run of the same round, which
ran next to it in time (the rounds are interleaved), so a busy moment hits both sides alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median
from typing import Any


def spread(values: Sequence[float | None]) -> dict[str, float] | None:
    """{median, min, max} of the values that exist; None if none does."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": median(present), "min": min(present), "max": max(present)}


def rows(
    runs: Sequence[dict[str, Any]], strategies: Sequence[str], repeat: int
) -> list[dict[str, Any]]:
    done = [run for run in runs if run.get("state") == "done"]
    sequential = {
        run.get("repeat_index", 0): run["summary"]["wall_s"]
        for run in done
        if run["spec"]["strategy"] == "sequential"
    }
    table = []
    for strategy in strategies:
        mine = [run for run in runs if run["spec"]["strategy"] == strategy]
        ended = [run for run in mine if run.get("state") == "done"]
        summaries = [run["summary"] for run in ended]
        ratios = []
        for run in ended:
            base = sequential.get(run.get("repeat_index", 0))
            wall = run["summary"]["wall_s"]
            if base and wall:
                ratios.append(base / wall)
        table.append(
            {
                "strategy": strategy,
                "run_ids": [run["id"] for run in mine],
                "done": len(ended),
                "total": repeat,
                "final": len(ended) == repeat,
                "wall_s": spread([s["wall_s"] for s in summaries]),
                "ideal_s": spread([s["ideal_s"] for s in summaries]),
                "efficiency": spread([s["efficiency"] for s in summaries]),
                "speedup": spread([s["speedup"] for s in summaries]),
                "vs_sequential": spread(ratios) if sequential else None,
                "peak_concurrency": max((s["peak_concurrency"] for s in summaries), default=None),
                "ok": sum(s["counts"].get("ok", 0) for s in summaries),
                "tasks": sum(run["total"] for run in ended),
                "busy": any((run.get("host_load") or {}).get("busy") for run in ended),
            }
        )
    return table
