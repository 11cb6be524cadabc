"""The run page's reads under /api: a page of the task table and the timeline.

The same rules as web.api (bearer token, errors as `{"error", "field"}`); both answers are
bounded whatever the run's size (see web.runview).
"""

from __future__ import annotations

import math
import time

from flask import Blueprint, Response, jsonify, request

from producer.reader import RunNotFound
from producer.timeline import Window
from web.api import MAX_INDEX
from web.api_common import query_whole, require_token
from web.clients import get_redis
from web.errors import ApiError
from web.runview import (
    MAX_PAGE_ROWS,
    PAGE_ROWS,
    SORT_KEYS,
    STATE_FILTERS,
    TableQuery,
    table,
    timeline_view,
)

bp = Blueprint("tasks_api", __name__, url_prefix="/api")
bp.before_request(require_token)


def _choice(name: str, choices: tuple[str, ...], default: str | None) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)} (got {raw[:40]!r})", name)
    return raw


def table_query() -> TableQuery:
    """The table's query from the request's arguments (the page's links use the same)."""
    sort = _choice("sort", SORT_KEYS, "index") or "index"
    order = _choice("order", ("asc", "desc"), "asc")
    state = _choice("state", STATE_FILTERS, None)
    offset = query_whole("offset", 0, 0, MAX_INDEX)
    limit = query_whole("limit", PAGE_ROWS, 1, MAX_PAGE_ROWS)
    return TableQuery(sort, order == "desc", state, offset, limit)


def _seconds(name: str) -> float | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 1e7):
        raise ApiError(400, f"{name} must be a number of seconds from 0 to 10000000", name)
    return value


@bp.get("/runs/<id:run_id>/tasks")
def get_tasks(run_id: str) -> Response:
    """One page of the task table, sorted by a column and filtered by state."""
    query = table_query()
    try:
        page = table(get_redis(), run_id, query)
    except RunNotFound:
        raise ApiError(404, f"no run {run_id!r} (never submitted, or expired)") from None
    return jsonify(page.to_dict())


@bp.get("/runs/<id:run_id>/timeline")
def get_timeline(run_id: str) -> Response:
    """Bars, or lanes binned over time past a few thousand bars; `from`/`to` zoom in."""
    start, end = _seconds("from"), _seconds("to")
    if end is not None:  # a window ending before it starts is the instant `from`
        end = max(end, start or 0.0)
    window = None if start is None and end is None else Window(start or 0.0, end)
    since = query_whole("since", 0, 0, MAX_INDEX) if "since" in request.args else None
    try:
        data = timeline_view(get_redis(), run_id, time.time(), window, since)
    except RunNotFound:
        raise ApiError(404, f"no run {run_id!r} (never submitted, or expired)") from None
    return jsonify(data)
