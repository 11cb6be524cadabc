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

from producer import proctree
from producer.numbers import fixed
from web import formats, presentation, runnotes
from web.assets import plotly_url
from web.presentation import DASH


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


#: The filters named as their functions: numbers, labels, times, links and the run page's notes.
FILTERS = (
    *(formats.seconds, formats.millis, formats.mib, formats.percent, formats.times),
    *(formats.rate, formats.count, formats.counted, formats.strategy_label, formats.peak_text),
    *(formats.ago, formats.lane, formats.short_worker, fixed, proctree.process_label),
    *(when, iso, http_url),
    *(runnotes.workers_note, runnotes.host_load_note, runnotes.rerun_note, runnotes.pause_note),
)


def init_views(app: Flask) -> None:
    app.jinja_env.filters.update({f.__name__: f for f in FILTERS})
    app.jinja_env.filters.update(number=_number)
    app.jinja_env.globals.update(
        STATE_LABELS={name: look.label for name, look in presentation.TASK_STATES.items()},
        RUN_STATE_LABELS={name: look.label for name, look in presentation.RUN_STATES.items()},
        DASH=DASH,
        KEPT_IDLE_NOTE=proctree.KEPT_IDLE_NOTE,
        host_counts=proctree.host_counts,
        keeps_idle_children=proctree.keeps_idle_children,
        presentation=presentation.page_data(),
        presentation_css_url=presentation_css_url,
        plotly_url=plotly_url,
    )


def _number(value: float | None, name: str) -> str:
    """`{{ value | number('cores') }}`: a number format of presentation.NUMBERS by name."""
    return formats.number(name, value)


def presentation_css_url() -> str:
    return url_for("assets.presentation_css", v=presentation.stylesheet_version())
