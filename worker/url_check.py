"""What a URL's text alone says: its scheme, host and port, or why it is refused.

Checked before any connection, on every redirect hop too, by both HTTP clients; the address the
host leads to is judged where sockets are made (`worker.guard`). A plain URL's verdict is its
origin's, judged once per process: every hop of every task asks.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from contract.urls import client_disagreement, plain_origin
from worker.guard import Refused

_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url(url: str) -> tuple[str, str, int]:
    """Check what can be judged from the text alone and return (scheme, host, port).

    Userinfo is refused outright: `http://example.com@127.0.0.1/` is the classic way to make
    a reader, and sometimes a parser, believe in the wrong host. A plain URL (one
    `contract.urls.plain_origin` reads) gets its origin's verdict, judged once: every hop of
    every task is checked, and parsing each is a visible share of a tiny task's client CPU.
    """
    origin = plain_origin(url)
    verdict = _origin_verdict(origin) if origin is not None else _url_verdict(url)
    if isinstance(verdict, str):
        raise Refused(verdict)
    return verdict


@lru_cache(maxsize=4096)
def _origin_verdict(origin: str) -> tuple[str, str, int] | str:
    return _url_verdict(f"{origin}/")


def _url_verdict(url: str) -> tuple[str, str, int] | str:
    """(scheme, host, port), or the refusal's message: a verdict that can be kept."""
    try:
        return check_url_uncached(url)
    except Refused as exc:
        return str(exc)


def check_url_uncached(url: str) -> tuple[str, str, int]:
    """`check_url`'s rules applied to the whole URL, every time."""
    if any(ch < " " or ch == "\x7f" for ch in url):
        raise Refused("refused: URL contains control characters")
    if url != url.strip():
        raise Refused("refused: URL has leading or trailing whitespace")
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise Refused(f"refused: scheme {scheme!r} is not http(s)")
        if "@" in parts.netloc:
            raise Refused("refused: userinfo (user@host) in a URL is not allowed")
        if any(ch in parts.netloc for ch in "\\% "):
            raise Refused("refused: backslash, space or percent-encoding in the URL's host")
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise Refused(f"refused: malformed URL: {exc}") from None
    if not host:
        raise Refused("refused: URL has no host")
    if port == 0:
        raise Refused("refused: port 0")
    problem = client_disagreement(url)  # a redirect hop too: one URL, one meaning
    if problem is not None:
        raise Refused(f"refused: the URL {problem}")
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]
