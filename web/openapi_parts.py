"""The pieces the OpenAPI document's paths are built of (web.openapi, web.openapi_tables)."""

from __future__ import annotations

from typing import Any

from contract import keys
from contract.states import TaskState

REF = "#/components/schemas/"
TEXT = {"type": "string"}
ID = {"type": "string", "pattern": f"^{keys.ID_PATTERN}$", "description": "12 hex digits"}
TASK_STATE = {"type": "string", "enum": [s.value for s in TaskState]}

JSON = "application/json"


def ref(name: str) -> dict[str, str]:
    """A component: a body's model (web.bodies, web.responses)."""
    return {"$ref": REF + name}


def json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": ref(schema)}}}


def error_responses(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid input: `error` says what, `field` which field (and line)",
        401: "FANOUT_API_TOKEN is set and the bearer token is missing or wrong",
        404: "No such run or comparison (never submitted, or expired)",
        413: "The body is over the size limit (1 MiB by default)",
        415: "The body is not JSON",
        409: "Conflict with the current state: the Idempotency-Key's comparison is still being "
        "created, a sweep owns the worker target, or more workers than the live hosts may run",
        422: "The Idempotency-Key was first used with a different batch",
        429: "Over FANOUT_RATE_LIMIT_SUBMIT (or _READ): `error` says the limit; see Retry-After",
        503: "Redis is unreachable",
    }
    responses = {str(code): json_response(text[code], "Error") for code in codes}
    responses["414"] = text_response(
        "The request line is over 4094 bytes (gunicorn's answer)", "text/html"
    )
    return responses


def query_param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def text_response(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
