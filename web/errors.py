"""Errors as the client expects them: JSON `{"error", "field"}` on the API, a page elsewhere.

Never a traceback, and never a 500 for a Redis outage: that is a 503 with a banner or JSON.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from redis.exceptions import (
    ConnectionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TimeoutError,
)
from werkzeug.exceptions import HTTPException

from producer.validation import InvalidInput
from web.limits import retry_after_s

log = logging.getLogger(__name__)

REDIS_DOWN = "Redis is unreachable: runs cannot be submitted or read right now. Retrying helps."
RETRY_AFTER_S = "5"

#: Redis errors that mean "Redis cannot serve now" (down, loading, full under noeviction, a
#: replica mid-failover): a 503 worth retrying. Any other RedisError (WRONGTYPE, a rejected
#: argument) is a bug in fanout or in its data, so a 500 with the traceback logged.
REDIS_OUTAGES = (ConnectionError, TimeoutError, OutOfMemoryError, ReadOnlyError)

#: Paths answered in JSON even when no API route matched (a 404 or 405 under /api/).
JSON_PREFIXES = ("/api/", "/healthz", "/openapi.json")


class ApiError(Exception):
    """A 4xx the API view decided on, with the field it concerns."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith(JSON_PREFIXES)


def json_error(status: int, message: str, field: str | None = None) -> Response:
    response = jsonify({"error": message, "field": field})
    response.status_code = status
    return response


def page_error(status: int, title: str, message: str, *, redis_down: bool = False) -> Response:
    html = render_template(
        "error.html", status=status, title=title, message=message, redis_down=redis_down
    )
    return Response(html, status=status, mimetype="text/html")


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if wants_json():
        response = json_error(status, exc.description or exc.name)
    else:
        response = page_error(status, f"{status} {exc.name}", exc.description or "")
    original = exc.get_response()
    for header in ("Allow", "WWW-Authenticate", "Retry-After"):
        if header in original.headers:
            response.headers[header] = original.headers[header]
    return response


def _csrf_error(exc: CSRFError) -> Response:
    return page_error(
        400,
        "The form expired",
        "The form's security token is missing or too old. Go back, reload the page and send it "
        "again.",
    )


def _rate_limited(exc: RateLimitExceeded) -> Response:
    """429 with the limit that was crossed and when to come back (Retry-After, seconds)."""
    retry_s = retry_after_s()
    message = f"rate limit exceeded: {exc.description} per client; retry in {retry_s} s"
    if wants_json():
        response = json_error(429, message)
    else:
        response = page_error(429, "Too many requests", message)
    response.headers["Retry-After"] = str(retry_s)
    return response


def _redis_error(exc: RedisError) -> Response:
    if not isinstance(exc, REDIS_OUTAGES):
        return _unexpected(exc)
    log.warning("Redis unreachable on %s %s: %s", request.method, request.path, exc)
    if wants_json():
        response = json_error(503, REDIS_DOWN)
    else:
        response = page_error(503, "Redis is unreachable", REDIS_DOWN, redis_down=True)
    response.headers["Retry-After"] = RETRY_AFTER_S
    return response


def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    if wants_json():
        return json_error(500, "internal error (logged on the server)")
    return page_error(500, "Something broke", "The error is logged on the server.")


def init_errors(app: Flask) -> None:
    app.register_error_handler(InvalidInput, lambda exc: json_error(400, exc.message, exc.field))
    app.register_error_handler(ApiError, lambda exc: json_error(exc.status, exc.message, exc.field))
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(RedisError, _redis_error)
    app.register_error_handler(Exception, _unexpected)
