"""Sentences the run page says about the conditions of a run: which workers served it, and
whether other processes loaded the worker hosts (then its figures may be distorted).

Both read fields the reader adds (`summary.workers`, `host_load`) and say nothing
when a record has none. static/runnotes.js writes the same sentences for the live page, with the
same number formats (web/presentation.py); the host-load warning it takes from the API as is.
"""

from __future__ import annotations

from typing import Any

from producer import hostnote
from web.formats import number


def _workers(n: int) -> str:
    return f"{n} worker" if n == 1 else f"{n} workers"


def workers_note(workers: dict[str, Any] | None) -> str:
    """ "served by 3 workers · live: 2 workers, 4 from +3.1 s" (offsets from the first start)."""
    if not workers:
        return ""
    text = f"served by {_workers(workers['served'])}"
    changes = workers.get("changes") or []
    if len(changes) < 2:
        return f"{text} · {workers['live']} live throughout"
    steps = [_workers(changes[0][1])]
    steps += [f"{live} from +{number('offset_s', offset_s)}" for offset_s, live in changes[1:]]
    return f"{text} · live: {', '.join(steps)}"


def host_load_note(run: dict[str, Any]) -> str:
    """The warning for a run whose worker hosts other processes kept busy: the API's
    `host_load.note`, worded by `producer.hostnote` (as static/runnotes.js shows it); worded
    there too for a record without it. Empty when they were not busy."""
    load = run.get("host_load") or {}
    if "note" in load:
        return str(load["note"])
    return hostnote.host_load_note(load, comparison=bool(run.get("comparison")))
