"""One URL, one meaning: the two HTTP clients fanout fetches with must read a URL alike.

A task runs under `requests` (urllib3) or `aiohttp` (yarl) depending on its strategy, and the
two parse differently at the edges: `http://2130706433:8081/` is 127.0.0.1 to `requests`
(libc reads the number) and an invalid URL to aiohttp; `http://%61.example/` is `a.example` to
urllib3 and `%61.example` to yarl; a full-width `a` (U+FF41) is refused by one and folded by the
other. The same URL then ended `ok` under one strategy and `error` under another. Submission
refuses such a URL with a message, and the worker's guard refuses one a redirect leads to.

The rule: both parsers succeed and agree on scheme, host and port; and a host whose last label
is a number (the WHATWG URL standard's test for an IPv4 host) is a canonical dotted quad, since
libc reads `127.1`, `0x7f.0.0.1` and `2130706433` as addresses and aiohttp refuses them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from ipaddress import AddressValueError, IPv4Address, IPv6Address

import requests
import yarl
from urllib3.util import parse_url

DEFAULT_PORTS = {"http": 80, "https": 443}

#: A label libc or a browser reads as (part of) an IPv4 number: decimal, octal or hex.
_NUMERIC_LABEL = re.compile(r"(0[xX][0-9a-fA-F]*|[0-9]+)")

Where = tuple[str, str, int]


def _where(scheme: str | None, host: str | None, port: int | None) -> Where:
    scheme = (scheme or "").lower()
    port = port if port is not None else DEFAULT_PORTS.get(scheme, 0)
    return scheme, _unbracket((host or "").lower()), port


def _as_requests_reads(url: str) -> Where:
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    parts = parse_url(prepared.url or url)
    return _where(parts.scheme, parts.host, parts.port)


def _as_aiohttp_reads(url: str) -> Where:
    parsed = yarl.URL(url)
    return _where(parsed.scheme, parsed.raw_host, parsed.port)


def _unbracket(host: str) -> str:
    """IPv6 literals in one spelling (urllib3 keeps the brackets and the text as written)."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in text:
        try:
            return str(IPv6Address(text.partition("%")[0]))
        except AddressValueError:
            return text
    return text


def _numeric_host_problem(host: str) -> str | None:
    labels = host.rstrip(".").split(".") if host else []
    if ":" in host or not labels or not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None  # a name, or an IPv6 literal
    try:
        canonical = str(IPv4Address(host.rstrip(".")))
    except AddressValueError:
        canonical = None
    if canonical != host:
        return (
            f"has the host {host!r}, which reads as an IPv4 address in a non-standard "
            "spelling (the two HTTP clients disagree on it): write it as four decimal numbers, "
            "like 93.184.215.14"
        )
    return None


#: A URL both clients read alike past its origin: ASCII letters, digits, dots and dashes for
#: the host, a decimal port, and after the first `/`, `?` or `#` only RFC 3986's unreserved and
#: sub-delimiter characters (no `%`, no backslash, no space). Such a URL's verdict is its
#: origin's, judged once: a 100,000-URL batch of a few origins is not parsed 200,000 times.
_PLAIN_URL = re.compile(
    r"(?P<origin>[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)"
    r"(?:[/?#][A-Za-z0-9._~!$&'()*+,;=:@/?#-]*)?"
)


def plain_origin(url: str) -> str | None:
    """`scheme://host[:port]` of a plain URL (see `_PLAIN_URL`), None for any other: whatever
    is judged from a plain URL's text alone is its origin's verdict."""
    plain = _PLAIN_URL.fullmatch(url)
    return plain["origin"] if plain else None


def client_disagreement(url: str) -> str | None:
    """Why `requests` and aiohttp would read `url` differently (a phrase that follows the URL
    in a message), or None when both read the same scheme, host and port."""
    origin = plain_origin(url)
    if origin is not None:
        return _origin_disagreement(origin)
    return _disagreement(url)


@lru_cache(maxsize=4096)
def _origin_disagreement(origin: str) -> str | None:
    return _disagreement(f"{origin}/")


def _disagreement(url: str) -> str | None:
    try:
        by_requests = _as_requests_reads(url)
    except Exception as exc:  # every parser error means "not this URL"
        return f"cannot be read by the requests client ({type(exc).__name__})"
    try:
        by_aiohttp = _as_aiohttp_reads(url)
    except Exception as exc:
        return f"cannot be read by the aiohttp client ({type(exc).__name__})"
    if by_requests[2] == 0 or by_aiohttp[2] == 0:  # urllib3 dials the default port, aiohttp 0
        return "has port 0, which the two HTTP clients read differently"
    if by_requests != by_aiohttp:
        return (
            "is read differently by the two HTTP clients "
            f"(requests: {_show(by_requests)}, aiohttp: {_show(by_aiohttp)})"
        )
    return _numeric_host_problem(by_requests[1])


def _show(where: Where) -> str:
    scheme, host, port = where
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"
