"""Static files that are not files in web/static: plotly.js, served by the app (no CDN, nothing
from the internet at run time), and the stylesheet of the state colours web/presentation.py
defines.

The pages draw bars, scatter lines and a heatmap, so they get plotly.js's cartesian partial
bundle (npm's `plotly.js-cartesian-dist-min`, pinned in package-lock.json): 1.5 MB against the
full bundle's 4.8 MB, which took seconds to evaluate on a busy 2-core machine. `make` (and the
Docker build) copies it from node_modules into `web/static/vendor/`, so an installed package
carries it. Each URL carries its content's digest, so it is cached for a year; the bundle is
gzipped once per process (1.5 MB -> ~0.5 MB) for clients that accept it.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib.resources import files

from flask import Blueprint, Response, request, url_for

from web import presentation

bp = Blueprint("assets", __name__)

CACHE_CONTROL = "public, max-age=31536000, immutable"
BUNDLE = "plotly-cartesian.min.js"
MISSING = (
    f"web/static/vendor/{BUNDLE} is missing: run `make up` (or `make assets`), which installs "
    "it from npm at the version package-lock.json pins.\n"
)


@cache
def plotly_js() -> bytes | None:
    path = files("web").joinpath("static", "vendor", BUNDLE)
    return path.read_bytes() if path.is_file() else None


@cache
def plotly_js_gzip() -> bytes:
    return gzip.compress(plotly_js() or b"", compresslevel=6, mtime=0)


@cache
def plotly_digest() -> str:
    return hashlib.sha256(plotly_js() or b"").hexdigest()[:16]


def plotly_url() -> str:
    return url_for("assets.plotly_script", v=plotly_digest())


@bp.get(f"/static/vendor/{BUNDLE}")
def plotly_script() -> Response:
    """The bundle; its ETag is its digest, so revalidation is a 304."""
    if plotly_js() is None:
        return Response(MISSING, status=503, mimetype="text/plain")
    etag = f"plotly-{plotly_digest()}"
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        body = plotly_js_gzip() if gzipped else plotly_js()
        response = Response(body, mimetype="text/javascript")
        if gzipped:
            response.headers["Content-Encoding"] = "gzip"
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Accept-Encoding"
    return response


@bp.get("/static/presentation.css")
def presentation_css() -> Response:
    """The badge colours as CSS (presentation.stylesheet). Kept for a year under the URL pages
    link, which carries its digest (views.presentation_css_url); revalidated under any other."""
    version = presentation.stylesheet_version()
    etag = f"presentation-{version}"
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(presentation.stylesheet(), mimetype="text/css")
    response.set_etag(etag)
    fresh = request.args.get("v") == version
    response.headers["Cache-Control"] = CACHE_CONTROL if fresh else "no-cache"
    return response
