"""`GET /openapi.json`: OpenAPI 3.1 for everything a program may call.

Built per request from the settings, so the limits it states (URLs per run, concurrency) are the
ones the server enforces. The request bodies' schemas are web.bodies' pydantic models (the same
that validate them), the responses' web.responses' models.
"""

from __future__ import annotations

from typing import Any

from contract.settings import Settings
from web.bodies import body_schemas
from web.openapi_parts import (
    JSON,
    TEXT,
    error_responses,
    json_response,
    path_param,
    query_param,
    ref,
    text_response,
)
from web.openapi_tables import table_paths
from web.responses import response_schemas

FINISHED_ETAG = "Weak, on finished runs only: send it back as If-None-Match for a 304"

TASKS_FLAG = query_param("tasks", "Include every task record (default true)", {"type": "boolean"})


def _api_paths() -> dict[str, Any]:
    return {
        "/api/runs": {
            "post": {
                "operationId": "submitRun",
                "summary": "Submit a batch as a run, or with compare=true as a comparison",
                "requestBody": {"required": True, "content": {JSON: {"schema": ref("Submission")}}},
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Any unique token (a UUID): a retry with the same key and "
                        "batch gets the first request's run or comparison, created once",
                        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
                    }
                ],
                "responses": {
                    "202": {
                        "description": "Accepted; poll the Location header's URL",
                        "headers": {
                            "Location": {"schema": {"type": "string"}},
                            "Idempotent-Replayed": {
                                "description": "true when the Idempotency-Key's run (or "
                                "comparison) existed already",
                                "schema": TEXT,
                            },
                        },
                        "content": {
                            JSON: {
                                "schema": {"anyOf": [ref("RunAccepted"), ref("ComparisonAccepted")]}
                            }
                        },
                    },
                    **error_responses(400, 401, 409, 413, 415, 422, 429, 503),
                },
            },
            "get": {
                "operationId": "listRuns",
                "summary": "Runs, newest first, without their tasks",
                "parameters": [
                    query_param(
                        "limit",
                        "Runs per page",
                        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    ),
                    query_param(
                        "offset",
                        "Runs to skip",
                        {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": 0},
                    ),
                ],
                "responses": {
                    "200": json_response("The runs", "RunList"),
                    **error_responses(400, 401, 503),
                },
            },
        },
        "/api/runs/{run_id}": {
            "get": {
                "operationId": "getRun",
                "summary": "One run: spec, state, counts, summary, tasks and running tasks",
                "parameters": [
                    path_param("run_id"),
                    TASKS_FLAG,
                    query_param(
                        "since",
                        "Only the tasks that ended after the first `since` (in the order they "
                        "ended): a live page passes how many it already has",
                        {"type": "integer", "minimum": 0, "maximum": 10_000_000},
                    ),
                    query_param(
                        "offset",
                        "Without `since`: tasks from this index on (a page by index)",
                        {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
                    ),
                    query_param(
                        "limit",
                        "Without `since`: at most this many tasks (`next_offset` names the next "
                        "page)",
                        {"type": "integer", "minimum": 1, "maximum": 20_000, "default": 5000},
                    ),
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "A finished run's ETag from an earlier answer",
                        "schema": TEXT,
                    },
                ],
                "responses": {
                    "200": json_response("The run", "Run")
                    | {"headers": {"ETag": {"description": FINISHED_ETAG, "schema": TEXT}}},
                    "304": {"description": "The finished run is unchanged since that ETag"},
                    **error_responses(400, 401, 404, 503),
                },
            }
        },
        "/api/compare/{comparison_id}": {
            "get": {
                "operationId": "getComparison",
                "summary": "One comparison: the same batch under each strategy",
                "parameters": [path_param("comparison_id"), TASKS_FLAG],
                "responses": {
                    "200": json_response("The comparison", "Comparison"),
                    **error_responses(400, 401, 404, 503),
                },
            }
        },
        "/api/workers": {
            "get": {
                "operationId": "getWorkers",
                "summary": "RQ workers on fanout's queue, queue depth and registry counts",
                "responses": {
                    "200": json_response("Workers and queue", "Workers"),
                    **error_responses(401, 503),
                },
            }
        },
        "/api/workers/tree": {
            "get": {
                "operationId": "getWorkerTree",
                "summary": "Each live host's process tree: supervisor, workers, their children",
                "responses": {
                    "200": json_response("The trees, published each second", "ProcessTree"),
                    **error_responses(401, 503),
                },
            }
        },
        "/api/workers/target": {
            "get": {
                "operationId": "getWorkerTarget",
                "summary": "The worker target, and per live host its share and live workers",
                "responses": {
                    "200": json_response("The target", "WorkerTarget"),
                    **error_responses(401, 503),
                },
            },
            "put": {
                "operationId": "setWorkerTarget",
                "summary": "Scale: every host's supervisor follows the target within seconds",
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("TargetRequest")}},
                },
                "responses": {
                    "200": json_response("The target set", "WorkerTarget"),
                    **error_responses(400, 401, 409, 413, 415, 503),
                },
            },
        },
        "/api/sweeps": {
            "post": {
                "operationId": "submitSweep",
                "summary": "Run one batch at each total of workers; fit the USL to the points",
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("SweepRequest")}},
                },
                "responses": {
                    "202": {
                        "description": "Accepted; poll the Location header's URL",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": {JSON: {"schema": ref("SweepAccepted")}},
                    },
                    **error_responses(400, 401, 409, 413, 415, 429, 503),
                },
            }
        },
        "/api/sweeps/{sweep_id}": {
            "get": {
                "operationId": "getSweep",
                "summary": "A sweep's points, its USL fit and the linear ideal",
                "parameters": [path_param("sweep_id")],
                "responses": {
                    "200": json_response("The sweep", "Sweep"),
                    **error_responses(401, 404, 503),
                },
            }
        },
        "/api/stats": {
            "get": {
                "operationId": "getStats",
                "summary": "Tasks ended per second and live workers per second",
                "parameters": [
                    query_param(
                        "window",
                        "Seconds of history",
                        {"type": "integer", "minimum": 10, "maximum": 3600, "default": 300},
                    ),
                ],
                "responses": {
                    "200": json_response("The series", "Stats"),
                    **error_responses(400, 401, 503),
                },
            }
        },
    }


def _ops_paths() -> dict[str, Any]:
    return {
        "/runs/{run_id}.csv": {
            "get": {
                "operationId": "exportRunCsv",
                "summary": "A run's tasks as CSV",
                "parameters": [path_param("run_id")],
                "responses": {
                    "200": text_response("One row per task", "text/csv"),
                    "404": text_response("No such run (an HTML page)", "text/html"),
                    "414": text_response("The request line is over 4094 bytes", "text/html"),
                    "503": text_response("Redis is unreachable (an HTML page)", "text/html"),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "200 when Redis answers, 503 when not",
                "security": [],
                "responses": {
                    "200": json_response("Healthy", "Health"),
                    "503": json_response("Redis is unreachable", "Health"),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text exposition",
                "security": [],
                "responses": {"200": text_response("Metrics", "text/plain")},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The whole document. With FANOUT_API_TOKEN set, /api/* declares bearer security."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "fanout",
            "version": "1.0.0",
            "description": "A job-queue concurrency lab: submit a batch of URLs, watch RQ workers "
            "fetch it under a strategy, read the timed records back.",
        },
        "paths": _api_paths() | table_paths() | _ops_paths(),
        "components": {
            "schemas": response_schemas() | body_schemas(settings),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
    if settings.api_token:
        for path, item in document["paths"].items():
            if path.startswith("/api/"):
                for operation in item.values():
                    operation["security"] = [{"bearer": []}]
    return document
