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

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from contract.states import TaskState
from producer.columns import STATES, Lane, lane_of
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


@dataclass(frozen=True)
class _Lanes:
    """What every mark of one answer is placed by: the lane of each ended row, the running
    tasks' starts and their lanes' ids, and the time of the answer."""

    view: TasksView
    lane_of_row: npt.NDArray[np.int64]
    starts: list[dict[str, Any]]
    lane_ids: dict[Lane, int]
    now: float


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
    a = columns.arrays()
    starts = [s for s in view.starts if columns.row_of(int(s["index"])) is None]
    used = {columns.lanes[i] for i in np.unique(a.lane).tolist()}
    lanes = sorted(used | {lane_of(s) for s in starts}, key=_natural)
    lane_ids = {lane: i for i, lane in enumerate(lanes)}
    remap = np.array([lane_ids.get(lane, -1) for lane in columns.lanes] or [0], np.int64)
    begin, finish = a.started_at - t0, a.finished_at - t0
    timed = ~(np.isnan(begin) | np.isnan(finish))
    last = float(finish[timed].max()) if timed.any() else 0.0
    end = max(last, now - t0) if starts else last
    lo = window.start if window else 0.0
    hi = window.end if window and window.end is not None else end
    base = {
        "lanes": [list(lane) for lane in lanes],
        "end": end,
        "from": lo,
        "to": hi,
        "ended": len(columns),
    }
    placed = _Lanes(view, remap[a.lane] if len(a.lane) else a.lane, starts, lane_ids, now)
    if since is not None and window is None and len(columns) <= MAX_BARS:
        rows = np.flatnonzero(timed[since:]) + min(since, len(columns))
        return base | {"mode": "bars", "since": since} | _bars(placed, rows)
    rows = np.flatnonzero(timed & (begin <= hi) & (finish >= lo))
    live = [s for s in starts if float(s["started_at"]) - t0 < hi]
    if len(rows) + len(live) <= MAX_BARS:
        return base | {"mode": "bars"} | _bars(replace(placed, starts=live), rows)
    return base | {"mode": "bins"} | _bins(replace(placed, starts=live), rows, lo, hi)


def _bars(placed: _Lanes, rows: npt.NDArray[np.int64]) -> dict[str, Any]:
    c, a, t0 = placed.view.columns, placed.view.columns.arrays(), placed.view.t0 or 0.0
    status = a.status[rows]
    cpu = a.cpu_s[rows]
    picked = rows.tolist()
    bars = {
        "index": a.task_index[rows].tolist(),
        "lane": placed.lane_of_row[rows].tolist(),
        "start": np.round(a.started_at[rows] - t0, 6).tolist(),
        "duration": np.round(a.finished_at[rows] - a.started_at[rows], 6).tolist(),
        "state": [STATES[code] for code in a.state[rows].tolist()],
        "url": [c.url[r] for r in picked],
        "status": [None if v < 0 else v for v in status.tolist()],
        "bytes": a.size[rows].tolist(),
        "cpu": [None if v != v else round(v, 6) for v in cpu.tolist()],
        "error": [c.errors.get(c.index[r]) for r in picked],
    }
    running: dict[str, list[Any]] = {"index": [], "lane": [], "start": [], "url": []}
    for s in placed.starts:
        running["index"].append(int(s["index"]))
        running["lane"].append(placed.lane_ids[lane_of(s)])
        running["start"].append(round(float(s["started_at"]) - t0, 6))
        running["url"].append(s["url"])
    return {"bars": bars, "running": running, "now": round(placed.now - t0, 6)}


def _bins(placed: _Lanes, rows: npt.NDArray[np.int64], lo: float, hi: float) -> dict[str, Any]:
    """Each lane's busy share of each bin, and the tasks that ended in it (and how many of
    those did not end ok): vectorised, so 100,000 tasks bin in milliseconds."""
    a, t0 = placed.view.columns.arrays(), placed.view.t0 or 0.0
    lanes, bins = len(placed.lane_ids), MAX_BINS
    width = max(hi - lo, 1e-6) / bins
    live = placed.starts
    lane = np.concatenate([placed.lane_of_row[rows], [placed.lane_ids[lane_of(s)] for s in live]])
    begin = np.concatenate([a.started_at[rows] - t0, [float(s["started_at"]) - t0 for s in live]])
    finish = np.concatenate([a.finished_at[rows] - t0, np.full(len(live), placed.now - t0)])
    busy = _busy(lane.astype(np.int64), begin, finish, lanes, lo, width)
    ended_at = a.finished_at[rows] - t0
    inside = (ended_at >= lo) & (ended_at <= hi)
    slot = np.minimum(((ended_at[inside] - lo) / width).astype(np.int64), bins - 1)
    where = placed.lane_of_row[rows][inside]
    ended = np.zeros((lanes, bins), np.int64)
    failed = np.zeros((lanes, bins), np.int64)
    np.add.at(ended, (where, slot), 1)
    np.add.at(failed, (where, slot), (a.state[rows][inside] != STATES.index(OK)).astype(np.int64))
    return {
        "bins": {
            "width": width,
            "count": bins,
            "busy": np.round(np.minimum(busy / width, 1.0), 3).tolist(),
            "ended": ended.tolist(),
            "failed": failed.tolist(),
        },
        "now": round(placed.now - t0, 6),
    }


def _busy(
    lane: npt.NDArray[np.int64],
    begin: npt.NDArray[np.float64],
    finish: npt.NDArray[np.float64],
    lanes: int,
    lo: float,
    width: float,
) -> npt.NDArray[np.float64]:
    """Seconds each lane was busy in each bin: a task's partial first and last bins, plus the
    whole bins between (added as a difference array, so a long task costs no more)."""
    bins = MAX_BINS
    x0 = np.clip(begin - lo, 0.0, bins * width)
    x1 = np.clip(finish - lo, 0.0, bins * width)
    keep = x1 > x0
    lane, x0, x1 = lane[keep], x0[keep], x1[keep]
    first = np.minimum((x0 / width).astype(np.int64), bins - 1)
    last = np.minimum((x1 / width).astype(np.int64), bins - 1)
    busy = np.zeros((lanes, bins + 1), np.float64)
    same = first == last
    np.add.at(busy, (lane[same], first[same]), x1[same] - x0[same])
    span = ~same
    np.add.at(busy, (lane[span], first[span]), (first[span] + 1) * width - x0[span])
    np.add.at(busy, (lane[span], last[span]), x1[span] - last[span] * width)
    whole = np.zeros((lanes, bins + 1), np.float64)
    np.add.at(whole, (lane[span], first[span] + 1), width)
    np.add.at(whole, (lane[span], last[span]), -width)
    return (busy + np.cumsum(whole, axis=1))[:, :bins]
