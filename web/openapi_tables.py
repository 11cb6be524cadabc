"""Schemas and paths of the run page's reads: a page of the task table, and the timeline."""

from __future__ import annotations

from typing import Any

from contract.states import TaskState
from web.openapi_parts import error_responses, json_response, path_param, query_param
from web.openapi_schemas import (
    COUNT,
    INT_OR_NULL,
    NUMBER_OR_NULL,
    STRING_OR_NULL,
    TASK_STATE,
    object_schema,
    ref,
)
from web.runview import MAX_PAGE_ROWS, PAGE_ROWS, SORT_KEYS

NUMBERS = {"type": "array", "items": {"type": "number"}}
STRINGS = {"type": "array", "items": {"type": "string"}}


def table_schemas() -> dict[str, Any]:
    row = object_schema(
        {
            "index": COUNT,
            "url": {"type": "string"},
            "state": TASK_STATE,
            "status": INT_OR_NULL,
            "bytes": INT_OR_NULL,
            "start": NUMBER_OR_NULL | {"description": "Seconds from the run's first start"},
            "duration": NUMBER_OR_NULL,
            "cpu": NUMBER_OR_NULL,
            "lane": {"type": "string", "description": "host / worker / pid / thread"},
            "lane_label": {"type": "string"},
            "attempt": INT_OR_NULL,
            "error": STRING_OR_NULL,
        }
    )
    page = object_schema(
        {
            "sort": {"type": "string", "enum": list(SORT_KEYS)},
            "order": {"type": "string", "enum": ["asc", "desc"]},
            "state": {"type": ["string", "null"], "enum": [*(s.value for s in TaskState), None]},
            "offset": COUNT,
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_ROWS},
            "matched": COUNT | {"description": "Rows the filter selects, over all pages"},
            "total": COUNT,
            "rows": {"type": "array", "items": ref("TaskRow"), "maxItems": MAX_PAGE_ROWS},
        }
    )
    columns = {
        name: {"type": "array"}
        for name in ("index", "lane", "start", "duration", "state", "url", "status", "bytes")
    }
    bars = object_schema(columns | {"cpu": {"type": "array"}, "error": {"type": "array"}})
    running = object_schema({"index": NUMBERS, "lane": NUMBERS, "start": NUMBERS, "url": STRINGS})
    grid = {"type": "array", "items": NUMBERS}
    bins = object_schema(
        {
            "width": {"type": "number"},
            "count": COUNT,
            "busy": grid,
            "ended": grid,
            "failed": grid,
        }
    )
    timeline = object_schema(
        {
            "mode": {"type": "string", "enum": ["bars", "bins", "empty"]},
            "lanes": STRINGS,
            "lane_labels": STRINGS,
            "end": {"type": "number"},
            "from": {"type": "number"},
            "to": {"type": "number"},
            "ended": COUNT,
            "final": {"type": "boolean"},
            "since": COUNT,
            "now": {"type": "number"},
            "bars": bars,
            "running": running,
            "bins": bins,
        },
        required=["mode", "lanes", "lane_labels", "end", "ended", "final"],
    )
    return {"TaskRow": row, "TaskPage": page, "Timeline": timeline}


def table_paths() -> dict[str, Any]:
    """The two GETs."""
    seconds = {"type": "number", "minimum": 0, "maximum": 10_000_000}
    return {
        "/api/runs/{run_id}/tasks": {
            "get": {
                "operationId": "getTaskPage",
                "summary": "One page of the run's task table, sorted and filtered by the server",
                "parameters": [
                    path_param("run_id"),
                    query_param(
                        "sort", "Column to sort by", {"type": "string", "enum": list(SORT_KEYS)}
                    ),
                    query_param(
                        "order", "asc or desc", {"type": "string", "enum": ["asc", "desc"]}
                    ),
                    query_param("state", "Only tasks in this state", TASK_STATE),
                    query_param(
                        "offset",
                        "Rows to skip",
                        {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
                    ),
                    query_param(
                        "limit",
                        "Rows in the page",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE_ROWS,
                            "default": PAGE_ROWS,
                        },
                    ),
                ],
                "responses": {
                    "200": json_response("The page", "TaskPage"),
                    **error_responses(400, 401, 404, 503),
                },
            }
        },
        "/api/runs/{run_id}/timeline": {
            "get": {
                "operationId": "getTimeline",
                "summary": "The run's timeline: bars, or each lane's busy share per time bin",
                "parameters": [
                    path_param("run_id"),
                    query_param(
                        "from", "Zoomed window's start, seconds from the first start", seconds
                    ),
                    query_param(
                        "to",
                        "Zoomed window's end (at or before `from`: the tasks running at `from`)",
                        seconds,
                    ),
                    query_param(
                        "since",
                        "Without a window: only bars after the first `since` ended "
                        "tasks (a live page's poll)",
                        {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                    ),
                ],
                "responses": {
                    "200": json_response("The timeline", "Timeline"),
                    **error_responses(400, 401, 404, 503),
                },
            }
        },
    }
