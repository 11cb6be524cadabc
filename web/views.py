"""Jinja filters and globals: numbers with their units, times, and links only for http(s).

The numbers and labels follow web/presentation.py. They are the pages' only ones: a live page
places the server's fresh rendering of itself (fanout.js refreshLive), so it shows what a reload
would.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, url_for

from producer.numbers import fixed
from web import presentation
from web.assets import plotly_url
from web.formats import (
    ago,
    count,
    counted,
    lane,
    mib,
    millis,
    number,
    peak_text,
    percent,
    rate,
    seconds,
    short_worker,
    strategy_label,
    times,
)
from web.presentation import DASH
from web.runnotes import host_load_note, pause_note, rerun_note, workers_note

STATE_LABELS = {name: look.label for name, look in presentation.TASK_STATES.items()}
RUN_STATE_LABELS = {name: look.label for name, look in presentation.RUN_STATES.items()}


def when(epoch_s: float | None) -> str:
    """UTC, to the second: the same on every server and in every test."""
    if epoch_s is None:
        return DASH
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch_s))


def iso(epoch_s: float | None) -> str:
    if epoch_s is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


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


def init_views(app: Flask) -> None:
    filters = {
        "seconds": seconds,
        "millis": millis,
        "mib": mib,
        "percent": percent,
        "times": times,
        "rate": rate,
        "count": count,
        "counted": counted,
        "strategy_label": strategy_label,
        "peak_text": peak_text,
        "fixed": fixed,
        "number": _number,
        "when": when,
        "iso": iso,
        "ago": ago,
        "http_url": http_url,
        "lane": lane,
        "short_worker": short_worker,
        "workers_note": workers_note,
        "host_load_note": host_load_note,
        "rerun_note": rerun_note,
        "pause_note": pause_note,
    }
    app.jinja_env.filters.update(filters)
    app.jinja_env.globals["STATE_LABELS"] = STATE_LABELS
    app.jinja_env.globals["RUN_STATE_LABELS"] = RUN_STATE_LABELS
    app.jinja_env.globals["DASH"] = DASH
    app.jinja_env.globals["presentation"] = presentation.page_data()
    app.jinja_env.globals["presentation_css_url"] = presentation_css_url
    app.jinja_env.globals["plotly_url"] = plotly_url


def _number(value: float | None, name: str) -> str:
    """`{{ value | number('cores') }}`: a number format of presentation.NUMBERS by name."""
    return number(name, value)


def presentation_css_url() -> str:
    return url_for("assets.presentation_css", v=presentation.stylesheet_version())
