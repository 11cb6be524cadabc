"""What a URL's text alone says: its scheme, host and port, or why it is refused.

Checked before any connection, on every redirect hop too, by both HTTP clients; the address the
host leads to is judged where sockets are made (`worker.guard`). The verdict is
`contract.verdicts.url_problem`'s, the one submission gives, so a URL the form or the API takes
is one the worker fetches. A plain URL's verdict is its origin's, judged once per process: every
hop of every task asks.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from contract.urls import plain_origin
from contract.verdicts import url_problem
from worker.guard import Refused

_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url(url: str) -> tuple[str, str, int]:
    """Check what can be judged from the text alone and return (scheme, host, port).

    Userinfo is refused (`http://example.com@127.0.0.1/` is the classic way to make a reader,
    and sometimes a parser, believe in the wrong host). A plain URL (one
    `contract.urls.plain_origin` reads) gets its origin's verdict, judged once: every hop of
    every task is checked, and parsing each is a visible share of a tiny task's client CPU.
    """
    origin = plain_origin(url)
    if origin is None:
        return check_url_uncached(url)
    verdict = _origin_verdict(origin)
    if isinstance(verdict, str):
        raise Refused(verdict)
    return verdict


@lru_cache(maxsize=4096)
def _origin_verdict(origin: str) -> tuple[str, str, int] | str:
    """(scheme, host, port), or the refusal's message: a verdict that can be kept."""
    try:
        return check_url_uncached(f"{origin}/")
    except Refused as exc:
        return str(exc)


def check_url_uncached(url: str) -> tuple[str, str, int]:
    """`check_url`'s rule applied to the whole URL, every time."""
    problem = url_problem(url)
    if problem is not None:
        raise Refused(f"refused: {problem}")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    return scheme, host, parts.port if parts.port is not None else _DEFAULT_PORTS[scheme]
