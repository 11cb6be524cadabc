"""One point of a sweep, made from its run, and the marks that say it measured something else.

A point is the batch's throughput at N workers. It stops measuring that when some of its tasks
did no work (refused by the URL guard: a refused-only batch "ends" in a millisecond), failed or
had to be run again (a worker died under them), or when the number of live workers changed while
it ran (a worker killed and restarted at N = 2 gives a point that belongs to no N). Such a point
keeps its figures for the table, carries the reasons, and is left out of the fit by default
(`producer.sweep.analysis`).
"""

from __future__ import annotations

from typing import Any

from contract.states import TaskState

#: Ended states that are neither a success nor a refusal.
FAILED_STATES = (TaskState.HTTP_ERROR, TaskState.ERROR, TaskState.TIMEOUT, TaskState.LOST)


def _tasks(n: int) -> str:
    return f"{n} task{'' if n == 1 else 's'}"


def marks(run: dict[str, Any], workers: int, reruns: int) -> list[str]:
    """Why the run's throughput is not the batch's throughput at `workers` workers (empty if
    it is)."""
    summary = run["summary"]
    counts = summary.get("counts") or {}
    found: list[str] = []
    refused = int(counts.get(TaskState.REFUSED.value) or 0)
    if refused:
        found.append(f"{_tasks(refused)} refused")
    failed = {s.value: int(counts.get(s.value) or 0) for s in FAILED_STATES}
    failed = {state: n for state, n in failed.items() if n}
    if failed:
        detail = ", ".join(f"{state} {n}" for state, n in failed.items())
        found.append(f"{_tasks(sum(failed.values()))} failed ({detail})")
    if reruns:
        found.append(f"{_tasks(reruns)} re-run")
    lives = [int(count) for _, count in (summary.get("workers") or {}).get("changes") or []]
    if len(lives) > 1:
        found.append(f"live workers changed during the run: {', '.join(map(str, lives))}")
    elif lives and lives[0] != workers:
        found.append(f"{lives[0]} live workers, not {workers}")
    return found


def point_from_run(workers: int, run: dict[str, Any], *, reruns: int) -> dict[str, Any]:
    """The point a finished run gives (`run` as `producer.reader.load_run` returns it;
    `reruns`: its tasks that ended at a second attempt)."""
    summary = run["summary"]
    load = run.get("host_load") or {}
    ok = int((summary.get("counts") or {}).get(TaskState.OK.value) or 0)
    return {
        "workers": workers,
        # No task did its work: the time between the first and the last refusal is no throughput.
        "throughput": summary.get("throughput_per_s") if ok else None,
        "wall_s": summary.get("wall_s"),
        "efficiency": summary.get("efficiency"),
        "run_id": run["id"],
        # Cores other processes kept busy on the busiest host: a shared machine shows here.
        "others_cores": load.get("max_others_cores"),
        "others_by_host": load.get("others_cores") or {},
        "busy": bool(load.get("busy")),
        "marks": marks(run, workers, reruns),
    }
