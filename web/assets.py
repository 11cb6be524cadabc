"""Static files that are not files in web/static: plotly.js, served by the app (no CDN, nothing
from the internet at run time), and the stylesheet of the state colours web/presentation.py
defines.

The pages draw bars, scatter lines and a heatmap, so they get plotly.js's cartesian partial
bundle (npm's `plotly.js-cartesian-dist-min`, pinned in package-lock.json): 1.5 MB against the
full bundle's 4.8 MB, which took seconds to evaluate on a busy 2-core machine. `make` (and the
Docker build) copies it from node_modules into `web/static/vendor/`, so an installed package
carries it. Each URL carries its content's digest, so it is cached for a year; the bundle is
gzipped once per process (1.5 MB -> ~0.5 MB) for clients that accept it. A bundle found is read
once per process; a missing one is looked for again on each request (503 until it is there), so
`make assets` beside a running app needs no restart. PLOTLY_BUNDLE (app config) names another
path.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, request, url_for

from web import presentation

bp = Blueprint("assets", __name__)

CACHE_CONTROL = "public, max-age=31536000, immutable"
BUNDLE = "plotly-cartesian.min.js"
MISSING = (
    f"web/static/vendor/{BUNDLE} is missing: run `make up` (or `make assets`), which installs "
    "it from npm at the version package-lock.json pins.\n"
)


@dataclass
class Bundle:
    """The bundle's bytes, their digest (its URL's version and ETag) and, once asked, gzipped."""

    body: bytes
    digest: str

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body, compresslevel=6, mtime=0)


#: Bundles found, by path (a missing one is not kept).
_found: dict[str, Bundle] = {}


def plotly_bundle() -> Bundle | None:
    """The app's PLOTLY_BUNDLE, else the copy installed in the package."""
    configured = current_app.config.get("PLOTLY_BUNDLE")
    path = str(configured or files("web").joinpath("static", "vendor", BUNDLE))
    bundle = _found.get(path)
    if bundle is None:
        try:
            body = Path(path).read_bytes()
        except OSError:
            return None
        bundle = _found.setdefault(path, Bundle(body, hashlib.sha256(body).hexdigest()[:16]))
    return bundle


def plotly_url() -> str:
    bundle = plotly_bundle()
    return url_for("assets.plotly_script", v=bundle.digest if bundle else "missing")


@bp.get(f"/static/vendor/{BUNDLE}")
def plotly_script() -> Response:
    """The bundle; its ETag is its digest, so revalidation is a 304."""
    bundle = plotly_bundle()
    if bundle is None:
        return Response(
            MISSING, status=503, mimetype="text/plain", headers={"Cache-Control": "no-store"}
        )
    etag = f"plotly-{bundle.digest}"
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        body = bundle.gzipped if gzipped else bundle.body
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
