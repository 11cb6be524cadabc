"""The run page's reads under /api: a page of the task table and the timeline.

The same rules as web.api (bearer token, errors as `{"error", "field"}`); both answers are
bounded whatever the run's size (see web.runview).
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from producer.reader import RunNotFound
from web import responses as r
from web.api_common import require_token
from web.clients import get_redis
from web.errors import ApiError
from web.operations import declare, ok
from web.queries import TableArgs, TimelineQuery
from web.runview import table, timeline_view

bp = Blueprint("tasks_api", __name__, url_prefix="/api")
bp.before_request(require_token)


@bp.get("/runs/<id:run_id>/tasks")
@declare("getTaskPage", "One page of the run's task table, sorted and filtered by the server",
         query=TableArgs, replies=ok("The page", r.TaskPage))  # fmt: skip
def get_tasks(run_id: str, query: TableArgs) -> Response:
    try:
        page = table(get_redis(), run_id, query.table_query())
    except RunNotFound:
        raise ApiError(404, f"no run {run_id!r} (never submitted, or expired)") from None
    return jsonify(page.to_dict())


@bp.get("/runs/<id:run_id>/timeline")
@declare("getTimeline", "The run's timeline: bars, or each lane's busy share per time bin",
         query=TimelineQuery, replies=ok("The timeline", r.Timeline))  # fmt: skip
def get_timeline(run_id: str, query: TimelineQuery) -> Response:
    try:
        data = timeline_view(get_redis(), run_id, time.time(), query.window(), query.since)
    except RunNotFound:
        raise ApiError(404, f"no run {run_id!r} (never submitted, or expired)") from None
    return jsonify(data)
