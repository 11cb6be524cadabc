"""Records in the shape /work/issue9-schema.md gives the reader's new fields (`provisional`,
`summary.workers`, `host_load`; a comparison's `repeat`, `strategies`, `rows`), built on top of
real records read back from Redis: the pages must draw them before the reader produces them."""

from __future__ import annotations

import copy
import statistics
from typing import Any

from producer import hostnote

FIGURES = ("wall_s", "ideal_s", "efficiency", "speedup")


def stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def host_load(others_cores: dict[str, float], *, comparison: bool = False) -> dict[str, Any]:
    peak = max(others_cores.values(), default=0.0)
    load = {
        "others_cores": others_cores,
        "max_others_cores": peak,
        "own_cores": {host: {} for host in others_cores},
        "threshold_cores": 0.25,
        "busy": peak > 0.25,
    }
    return hostnote.with_note(load, comparison=comparison) or load


def run_shape(
    run: dict[str, Any],
    *,
    workers: dict[str, Any] | None = None,
    others_cores: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`run` with the new run fields."""
    shaped = copy.deepcopy(run)
    shaped["provisional"] = run["state"] != "done"
    shaped["summary"]["workers"] = workers
    shaped["summary"]["capacity_slot_s"] = None
    shaped["summary"]["ideal_basis"] = "slots"
    comparison = bool(run.get("comparison"))
    shaped["host_load"] = (
        None if others_cores is None else host_load(others_cores, comparison=comparison)
    )
    return shaped


def comparison_shape(
    comparison: dict[str, Any], *, repeat: int, busy_runs: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`comparison` (runs in execution order: s1 .. sk, s1 .. sk, ...) with the new fields."""
    shaped = copy.deepcopy(comparison)
    k = len(shaped["runs"]) // repeat
    shaped["strategies"] = [run["spec"]["strategy"] for run in shaped["runs"][:k]]
    for i, run in enumerate(shaped["runs"]):
        others = {"testhost": 0.6 if run["id"] in busy_runs else 0.01}
        shaped["runs"][i] = run_shape(run, others_cores=others) | {"repeat_index": i // k}
    runs = shaped["runs"]
    sequential = {
        r["repeat_index"]: r["summary"]["wall_s"]
        for r in runs
        if r["spec"]["strategy"] == "sequential" and r["state"] == "done"
    }
    rows = []
    for strategy in shaped["strategies"]:
        mine = [r for r in runs if r["spec"]["strategy"] == strategy]
        done = [r for r in mine if r["state"] == "done"]
        row: dict[str, Any] = {
            "strategy": strategy,
            "run_ids": [r["id"] for r in mine],
            "done": len(done),
            "total": len(mine),
            "final": len(done) == len(mine),
        }
        for name in FIGURES:
            row[name] = stats([r["summary"][name] for r in done if r["summary"][name] is not None])
        paired = [
            sequential[r["repeat_index"]] / r["summary"]["wall_s"]
            for r in done
            if r["repeat_index"] in sequential and r["summary"]["wall_s"]
        ]
        row["vs_sequential"] = stats(paired)
        peaks = [r["summary"]["peak_concurrency"] for r in done]
        row["peak_concurrency"] = max(peaks, default=None)
        row["ok"] = sum(r["counts"]["ok"] for r in done)
        row["tasks"] = sum(r["total"] for r in done)
        row["busy"] = any(r["host_load"]["busy"] for r in mine if r["host_load"])
        rows.append(row)
    shaped["repeat"] = repeat
    shaped["rows"] = rows
    shaped["provisional"] = shaped["state"] != "done"
    return shaped
