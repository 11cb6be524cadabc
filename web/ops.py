"""What operators and programs probe: health and the OpenAPI document, and the API reference
that renders the document in the browser (Swagger UI: npm's `swagger-ui-dist`, pinned in
package-lock.json, copied by `make assets` into web/static/vendor/ and served by the app like
plotly.js: nothing from another origin)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, url_for
from redis.exceptions import RedisError

from web.clients import get_redis, get_settings
from web.errors import REDIS_DOWN, RETRY_AFTER_S
from web.openapi import openapi_document
from web.persistence import current_persistence

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """200 when Redis answers a PING; 503 otherwise (load balancers and compose use this).
    `persistence` says whether a Redis restart would lose queued work (null: not read yet)."""
    try:
        get_redis().ping()
    except RedisError:
        response = jsonify({"status": "unavailable", "redis": "unreachable", "error": REDIS_DOWN})
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER_S
        return response
    persistence = current_persistence()
    details = persistence.to_dict() if persistence is not None else None
    return jsonify({"status": "ok", "redis": "ok", "persistence": details})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(get_settings()))


@bp.get("/api")
def api_reference() -> Response:
    html = render_template("api_reference.html", spec_url=url_for("ops.openapi"))
    return Response(html, mimetype="text/html")
