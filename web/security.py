"""Response headers every page gets, and the optional bearer token of the JSON API.

Pages never load anything from another origin: scripts and styles are served from web/static and
plotly.js's partial bundle from web/static/vendor (web.assets), so the policy can be `'self'`
throughout. Plotly injects <style> elements, hence `style-src 'unsafe-inline'` (styles cannot
run code).
"""

from __future__ import annotations

import hmac

from flask import Response, request, session

from web.clients import get_settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: Set in the session of a browser that loaded a page, so the page's own polling of the read-only
#: API works when FANOUT_API_TOKEN is set (the page shows the same data anyway).
UI_SESSION_FLAG = "ui"


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def grant_ui_reads() -> None:
    """Called by pages: lets this browser's scripts read the API without the token."""
    if get_settings().api_token and not session.get(UI_SESSION_FLAG):
        session[UI_SESSION_FLAG] = True


def token_matches(given: str) -> bool:
    """Whether `given` is FANOUT_API_TOKEN (compared in constant time)."""
    token = get_settings().api_token
    return bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())


def token_problem() -> str | None:
    """Why this API request is not authorised, or None when it is.

    With no token configured the API is open. With one, a request needs `Authorization: Bearer
    <token>`; a GET from a browser that loaded a page (see UI_SESSION_FLAG) is also allowed.
    """
    if not get_settings().api_token:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and token_matches(given):
        return None
    if request.method in ("GET", "HEAD") and session.get(UI_SESSION_FLAG):
        return None
    if header:
        return "invalid bearer token"
    return "this API needs an Authorization: Bearer token (FANOUT_API_TOKEN is set)"
