"""A chunked body over MAX_CONTENT_LENGTH is a 413, as a body that announces its length is.

Werkzeug enforces the limit on a body without Content-Length (chunked) by reading at most
MAX_CONTENT_LENGTH bytes and stopping there, silently: the view then parsed a truncated body
and answered 400 "not valid JSON" (werkzeug 3.1's `LimitedStream.readall`), and a truncated
form could even be accepted. So such a body is read here, before any view, and one more byte is
asked of the server's stream: if there is one, the body was over the limit. The body stays
cached on the request, where `get_json` and the form parser read it from.
"""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge


def refuse_oversize_chunked_body() -> None:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None or request.content_length is not None:
        return
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    data = request.get_data(cache=True)
    if len(data) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge(f"the body is over the limit of {limit} bytes")
