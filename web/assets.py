"""Static files that are not files in web/static: plotly.min.js, served from the installed plotly
package (no CDN, nothing from the internet), and the stylesheet of the state colours that
web/presentation.py defines.

Each URL carries a version (plotly's; the stylesheet's digest), so it can be cached for a year;
plotly.min.js is gzipped once per process (4.8 MB -> ~1.4 MB) for clients that accept it.
"""

from __future__ import annotations

import gzip
from functools import cache
from importlib.resources import files

import plotly
from flask import Blueprint, Response, request, url_for

from web import presentation

bp = Blueprint("assets", __name__)

CACHE_CONTROL = "public, max-age=31536000, immutable"


@cache
def plotly_js() -> bytes:
    return files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()


@cache
def plotly_js_gzip() -> bytes:
    return gzip.compress(plotly_js(), compresslevel=6, mtime=0)


def plotly_url() -> str:
    return url_for("assets.plotly_script", v=plotly.__version__)


@bp.get("/static/vendor/plotly.min.js")
def plotly_script() -> Response:
    """The bundled plotly.js; ETag is plotly's version, so revalidation is a 304."""
    etag = f"plotly-{plotly.__version__}"
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
