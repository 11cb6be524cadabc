"""What every JSON API blueprint shares: the bearer token, the body as a JSON object and the
202 with its Location (the query strings are web.queries' models).

Errors are ApiError or InvalidInput, answered as `{"error", "field"}` (web.errors).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, jsonify, request

from web.errors import ApiError, json_error
from web.security import token_problem


def require_token() -> Response | None:
    """A blueprint's before_request: 401 unless FANOUT_API_TOKEN is unset or sent."""
    problem = token_problem()
    if problem is None:
        return None
    response = json_error(401, problem)
    response.headers["WWW-Authenticate"] = 'Bearer realm="fanout"'
    return response


def json_body(what: str = "the submission", *, object_only: bool = True) -> Any:
    """The body as JSON: UTF-8 (RFC 8259; `json.loads` would guess UTF-16 or UTF-32 from the
    bytes, so a UTF-16 body is refused here rather than read), an object unless told."""
    if not request.is_json:
        raise ApiError(415, f"send {what} as JSON (Content-Type: application/json)")
    raw = request.get_data()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # JSON escapes NUL: a raw one is UTF-16 or UTF-32 (ASCII as 2 or 4 bytes)
        raise ApiError(400, "the body is not UTF-8 (JSON bodies are UTF-8)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON") from None
    if object_only and not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def accepted(body: dict[str, Any], location: str) -> Response:
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = location
    return response
