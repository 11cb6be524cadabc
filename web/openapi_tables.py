"""Paths of the run page's reads: a page of the task table, and the timeline (their bodies are
web.responses' TaskPage and Timeline)."""

from __future__ import annotations

from typing import Any

from web.openapi_parts import (
    TASK_STATE,
    error_responses,
    json_response,
    path_param,
    query_param,
)
from web.runview import MAX_PAGE_ROWS, PAGE_ROWS, SORT_KEYS


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
