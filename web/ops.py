"""What operators and programs probe: health and the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from redis.exceptions import RedisError

from web.clients import get_redis, get_settings
from web.errors import REDIS_DOWN
from web.openapi import openapi_document

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when Redis answers a PING; 503 otherwise (load balancers and compose use this)."""
    try:
        get_redis().ping()
    except RedisError:
        response = jsonify({"status": "unavailable", "redis": "unreachable", "error": REDIS_DOWN})
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify({"status": "ok", "redis": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(get_settings()))
