"""`GET /api`: the API reference, rendered in the browser from /openapi.json by Swagger UI.

Swagger UI (npm's `swagger-ui-dist`, pinned in package-lock.json) is copied by `make assets`
into web/static/vendor/ and served by the app like plotly.js: nothing from another origin.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template, url_for

bp = Blueprint("api_reference", __name__)


@bp.get("/api")
def reference() -> Response:
    html = render_template("api_reference.html", spec_url=url_for("ops.openapi"))
    return Response(html, mimetype="text/html")
