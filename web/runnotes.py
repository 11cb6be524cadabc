"""Sentences the run page says about the conditions of a run: which workers served it, and
whether other processes loaded the worker hosts (then its figures may be distorted).

Both read fields the reader adds (`summary.workers`, `host_load`) and say nothing
when a record has none. static/runnotes.js writes the same sentences for the live page, with the
same number formats (web/presentation.py).
"""

from __future__ import annotations

from typing import Any

from web.formats import number


def _workers(n: int) -> str:
    return f"{n} worker" if n == 1 else f"{n} workers"


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
    text = f"served by {_workers(workers['served'])}"
    steps = _steps(workers.get("changes") or [])
    if len(steps) < 2:
        live = steps[0][1] if steps else workers["live"]
        return f"{text} · {live} live throughout"
    named = [_workers(steps[0][1])] + [f"{live} from +{at}" for at, live in steps[1:]]
    return f"{text} · live: {', '.join(named)}"


def host_load_note(run: dict[str, Any]) -> str:
    """The warning for a run whose worker hosts were busy with other work, naming each host
    and the cores others kept busy there; empty when they were not."""
    load = run.get("host_load") or {}
    if not load.get("busy"):
        return ""
    hosts = sorted(load["others_cores"].items(), key=lambda item: (-item[1], item[0]))
    named = ", ".join(f"{host} {number('cores', cores)} cores" for host, cores in hosts)
    again = "the comparison" if run.get("comparison") else "the run"
    return (
        f"Other processes kept the worker hosts busy during this run ({named}; more than "
        f"{number('cores', load['threshold_cores'])} is too many): the figures may be distorted; "
        f"repeat {again}."
    )
