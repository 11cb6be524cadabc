"""Sentences the run page says about the conditions of a run: which workers served it, whether
other processes loaded the worker hosts (then its figures may be distorted), how many of its
tasks ran again after their worker stopped, and how long none of its tasks was running (time
its wall time includes).

The first two read fields the reader adds (`summary.workers`, `host_load`), the others the
run's notes (web.runview.run_notes); each says nothing when its data is not there. The run
page shows them as the server renders them, live too (static/run.js places the fresh rendering);
the API carries the host-load warning (`host_load.note`) and the timeline answer the rerun and
pause notes (`worded`) for its other readers.
"""

from __future__ import annotations

from typing import Any

from producer import hostnote
from web.formats import counted, number, seconds


def _steps(changes: list[list[float]]) -> list[tuple[str, int]]:
    """(offset as shown, workers live from then): changes that read at the same offset are
    one, the last of them; a step that leaves the count as it was is none."""
    steps: list[tuple[str, int]] = []
    for offset_s, live in changes:
        at = number("offset_s", offset_s)
        if steps and steps[-1][0] == at:
            steps.pop()
        if not steps or steps[-1][1] != int(live):
            steps.append((at, int(live)))
    return steps


def workers_note(workers: dict[str, Any] | None) -> str:
    """ "served by 3 workers · live: 2 workers, 4 from +3.1 s" (offsets from the first start)."""
    if not workers:
        return ""
    text = f"served by {counted(workers['served'], 'worker')}"
    steps = _steps(workers.get("changes") or [])
    if len(steps) < 2:
        live = steps[0][1] if steps else workers["live"]
        return f"{text} · {live} live throughout"
    named = [counted(steps[0][1], "worker")] + [f"{live} from +{at}" for at, live in steps[1:]]
    return f"{text} · live: {', '.join(named)}"


def host_load_note(run: dict[str, Any]) -> str:
    """The warning for a run whose worker hosts other processes kept busy: the API's
    `host_load.note`, worded by `producer.hostnote` (the CLI's words too); worded
    there too for a record without it. Empty when they were not busy."""
    load = run.get("host_load") or {}
    if "note" in load:
        return str(load["note"])
    return hostnote.host_load_note(load, comparison=bool(run.get("comparison")))


def rerun_note(notes: dict[str, Any] | None) -> str:
    """ "854 tasks ran again: their worker stopped before they ended (...)"; empty for none."""
    n = (notes or {}).get("reruns") or 0
    if not n:
        return ""
    them = "it" if n == 1 else "they"
    return (
        f"{counted(n, 'task')} ran again: their worker stopped before {them} ended (a restart "
        "or a crash), so each was run once more; the table gives each its attempt."
    )


def worded(notes: dict[str, Any]) -> dict[str, Any]:
    """The run's notes with their sentences (`rerun_note`, `pause_note`), as the timeline answer
    carries them."""
    return notes | {"rerun_note": rerun_note(notes), "pause_note": pause_note(notes)}


def pause_note(notes: dict[str, Any] | None) -> str:
    """The time none of the run's tasks was running, which its wall time includes; empty when
    there was none."""
    paused = (notes or {}).get("paused_s") or 0
    if paused <= 0:
        return ""
    return (
        f"For {seconds(paused)} no task of this run was running (no worker was running it: a "
        "restart, or workers busy with other work). Its wall time includes that time, and so do "
        "its efficiency and throughput."
    )
