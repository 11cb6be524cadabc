"""Jinja filters and globals: numbers with their units, times, and links only for http(s).

The browser scripts format the same numbers the same way (web/static/fanout.js), so a page that
updates live shows what a reload would.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from contract.states import TaskState
from web.assets import plotly_url
from web.runnotes import host_load_note, workers_note

#: Shown for a value that does not exist (yet): an en dash.
DASH = "\u2013"

STATE_LABELS = {
    TaskState.PENDING.value: "pending",
    TaskState.RUNNING.value: "running",
    TaskState.OK.value: "ok",
    TaskState.HTTP_ERROR.value: "HTTP error",
    TaskState.ERROR.value: "error",
    TaskState.TIMEOUT.value: "timeout",
    TaskState.REFUSED.value: "refused",
    TaskState.LOST.value: "lost",
}


def seconds(value: float | None) -> str:
    """Seconds with a precision that suits their size: 0.253 s, 12.4 s, 3 min 05 s."""
    if value is None:
        return DASH
    if value < 10:
        return f"{value:.3f} s"
    if value < 120:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def millis(value: float | None) -> str:
    return DASH if value is None else f"{value * 1000:,.0f} ms"


def percent(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.0f} %"


def times(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}\u00d7"


def rate(value: float | None) -> str:
    return DASH if value is None else f"{value:,.1f} /s"


def count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def when(epoch_s: float | None) -> str:
    """UTC, to the second: the same on every server and in every test."""
    if epoch_s is None:
        return DASH
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_s))


def iso(epoch_s: float | None) -> str:
    if epoch_s is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def ago(epoch_s: float | None, now: float | None = None) -> str:
    if epoch_s is None:
        return "never"
    delta = max(0.0, (time.time() if now is None else now) - epoch_s)
    if delta < 60:
        return f"{delta:.0f} s ago"
    if delta < 3600:
        return f"{delta / 60:.0f} min ago"
    return f"{delta / 3600:.1f} h ago"


def http_url(url: Any) -> str | None:
    """The URL when it may become a link (http or https), else None: autoescaping alone does not
    stop `href="javascript:..."`."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def lane(task: dict[str, Any]) -> str:
    """The executor that ran a task, as the timeline names its lane."""
    if not task.get("host"):
        return DASH
    return f"{task['host']} / {task['worker']} / {task['pid']} / {task['thread']}"


def short_lane(task: dict[str, Any]) -> str:
    """The lane with the worker's name shortened, for tables and chart axes."""
    if not task.get("host"):
        return DASH
    return f"{task['host']} / {short_worker(task['worker'])} / {task['pid']} / {task['thread']}"


def short_worker(name: str | None) -> str:
    """RQ pool workers are named by a 32-digit uuid; 8 digits tell them apart on a page."""
    if not name:
        return DASH
    return name[:8] if len(name) == 32 and name.isalnum() else name


def init_views(app: Flask) -> None:
    filters = {
        "seconds": seconds,
        "millis": millis,
        "percent": percent,
        "times": times,
        "rate": rate,
        "count": count,
        "when": when,
        "iso": iso,
        "ago": ago,
        "http_url": http_url,
        "lane": lane,
        "short_worker": short_worker,
        "workers_note": workers_note,
        "host_load_note": host_load_note,
    }
    app.jinja_env.filters.update(filters)
    app.jinja_env.globals["STATE_LABELS"] = STATE_LABELS
    app.jinja_env.globals["plotly_url"] = plotly_url
