"""The run page's timeline, sized for the browser: single bars, or lanes binned over time.

A browser draws a few thousand bars smoothly, not 100,000. So a view (the whole run, or the
window the user zoomed to) holding at most `MAX_BARS` tasks is sent as bars, one per task; a
bigger one as each lane's busy share per time bin (at most `MAX_BINS` bins), which shows the
same thing at that scale: where executors worked, where they waited. Zooming in far enough
gives single bars again. Times are seconds from the run's first start.

A live page of a small run asks with `since=n` (ended tasks it already has): it gets only the
bars that ended after those, and the running ones. Every answer is bounded by
`MAX_BARS` bars or lanes x `MAX_BINS` cells, whatever the run's size.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from contract.states import TaskState
from producer.columns import STATES, Lane, RunColumns, lane_of
from producer.task_table import TasksView

#: The most bars one answer holds.
MAX_BARS = 3000
#: Time bins across the view when it is binned.
MAX_BINS = 360

OK = TaskState.OK.value


@dataclass(frozen=True)
class Window:
    """Seconds from the first start; `end` None: to the run's last end (or now)."""

    start: float = 0.0
    end: float | None = None


def _natural(lane: Lane) -> list[Any]:
    text = " / ".join(lane)
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def timeline(
    view: TasksView,
    now: float,
    window: Window | None = None,
    since: int | None = None,
) -> dict[str, Any]:
    """The timeline of a view: `mode` "bars", "bins" or "empty", with its lanes."""
    columns, t0 = view.columns, view.t0
    if t0 is None:
        return {"mode": "empty", "lanes": [], "end": 0.0, "ended": len(columns)}
    starts = [s for s in view.starts if columns.row_of(int(s["index"])) is None]
    lane_set = {columns.lanes[i] for i in set(columns.lane)} | {lane_of(s) for s in starts}
    lanes = sorted(lane_set, key=_natural)
    lane_ids = {lane: i for i, lane in enumerate(lanes)}
    remap = [lane_ids.get(lane, -1) for lane in columns.lanes]
    end = _run_end(view, now, t0, bool(starts))
    frame = Window(window.start, window.end) if window else Window(0.0, end)
    lo, hi = frame.start, frame.end if frame.end is not None else end
    base = {
        "lanes": [list(lane) for lane in lanes],
        "end": end,
        "from": lo,
        "to": hi,
        "ended": len(columns),
    }
    if since is not None and window is None and len(columns) <= MAX_BARS:
        rows = [r for r in range(min(since, len(columns)), len(columns)) if _timed(columns, r)]
        return (
            base
            | {"mode": "bars", "since": since}
            | _bars(view, rows, starts, lane_ids, remap, now)
        )
    rows = [r for r in range(len(columns)) if _overlaps(columns, r, t0, lo, hi)]
    live = [s for s in starts if float(s["started_at"]) - t0 < hi]
    if len(rows) + len(live) <= MAX_BARS:
        return base | {"mode": "bars"} | _bars(view, rows, live, lane_ids, remap, now)
    return base | {"mode": "bins"} | _bins(view, rows, live, lane_ids, remap, now, lo, hi)


def _run_end(view: TasksView, now: float, t0: float, running: bool) -> float:
    ends = [e for e in view.columns.finished_at if not math.isnan(e)]
    last = max(ends) - t0 if ends else 0.0
    return max(last, now - t0) if running else last


def _timed(columns: RunColumns, row: int) -> bool:
    return not (math.isnan(columns.started_at[row]) or math.isnan(columns.finished_at[row]))


def _overlaps(columns: RunColumns, row: int, t0: float, lo: float, hi: float) -> bool:
    start, finish = columns.started_at[row] - t0, columns.finished_at[row] - t0
    return start <= hi and finish >= lo  # NaN compares false: untimed tasks are left out


def _bars(
    view: TasksView,
    rows: list[int],
    starts: list[dict[str, Any]],
    lane_ids: dict[Lane, int],
    remap: list[int],
    now: float,
) -> dict[str, Any]:
    c, t0 = view.columns, view.t0 or 0.0
    bars: dict[str, list[Any]] = {
        name: []
        for name in ("index", "lane", "start", "duration", "state", "url", "status", "bytes")
    }
    bars |= {"cpu": [], "error": []}
    for r in rows:
        bars["index"].append(c.index[r])
        bars["lane"].append(remap[c.lane[r]])
        bars["start"].append(round(c.started_at[r] - t0, 6))
        bars["duration"].append(round(c.finished_at[r] - c.started_at[r], 6))
        bars["state"].append(STATES[c.state[r]])
        bars["url"].append(c.url[r])
        bars["status"].append(None if c.status[r] < 0 else c.status[r])
        bars["bytes"].append(c.size[r])
        bars["cpu"].append(None if math.isnan(c.cpu_s[r]) else round(c.cpu_s[r], 6))
        bars["error"].append(c.errors.get(c.index[r]))
    running: dict[str, list[Any]] = {"index": [], "lane": [], "start": [], "url": []}
    for s in starts:
        running["index"].append(int(s["index"]))
        running["lane"].append(lane_ids[lane_of(s)])
        running["start"].append(round(float(s["started_at"]) - t0, 6))
        running["url"].append(s["url"])
    return {"bars": bars, "running": running, "now": round(now - t0, 6)}


def _bins(
    view: TasksView,
    rows: list[int],
    starts: list[dict[str, Any]],
    lane_ids: dict[Lane, int],
    remap: list[int],
    now: float,
    lo: float,
    hi: float,
) -> dict[str, Any]:
    """Each lane's busy share of each bin, and the tasks that ended in it (and how many of
    those did not end ok)."""
    c, t0 = view.columns, view.t0 or 0.0
    span = max(hi - lo, 1e-6)
    bins = MAX_BINS
    lane_count = len(lane_ids)
    width = span / bins
    busy = [[0.0] * bins for _ in range(lane_count)]
    ended = [[0] * bins for _ in range(lane_count)]
    failed = [[0] * bins for _ in range(lane_count)]
    ok = STATES.index(OK)

    def cover(lane: int, start: float, finish: float) -> None:
        a, b = max(start, lo), min(finish, hi)
        first, last = int((a - lo) / width), min(bins - 1, int((b - lo) / width))
        for i in range(max(0, first), last + 1):
            edge_lo, edge_hi = lo + i * width, lo + (i + 1) * width
            busy[lane][i] += max(0.0, min(b, edge_hi) - max(a, edge_lo))

    for r in rows:
        lane = remap[c.lane[r]]
        start, finish = c.started_at[r] - t0, c.finished_at[r] - t0
        cover(lane, start, finish)
        if lo <= finish <= hi:
            i = min(bins - 1, int((finish - lo) / width))
            ended[lane][i] += 1
            failed[lane][i] += c.state[r] != ok
    for s in starts:
        cover(lane_ids[lane_of(s)], float(s["started_at"]) - t0, now - t0)
    return {
        "bins": {
            "width": width,
            "count": bins,
            "busy": [[round(min(1.0, x / width), 3) for x in row] for row in busy],
            "ended": ended,
            "failed": failed,
        },
        "now": round(now - t0, 6),
    }
