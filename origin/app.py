"""The origin's routes: every delay, size, status and hostile body a fetcher must survive.

Demos, tests and benchmarks fetch from this loopback server so nothing needs the internet, and
each misbehaviour (slow drips, hangs, redirect loops, gzip bombs, endless bodies) is one URL away.
Bad numbers answer 400 with a short text, never a 500.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode

from aiohttp import web

MIB = 1024 * 1024
GIB = 1024 * MIB
MAX_DELAY_MS = 60_000
MAX_BYTES = 50 * MIB
MAX_REDIRECTS = 1000
MAX_BOMB_MB = 1024
MAX_HUGE_GB = 1024
DEFAULT_BYTES = 64
HANG_S = 3600
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

#: Bodies are this line repeated and cut to length, so a client can check every byte it got.
PATTERN = b"fanout-origin\n"
_FILLER = PATTERN * (MIB // len(PATTERN) + 1)
_MAX_WRITE = len(_FILLER) - len(PATTERN)
_STREAM_WRITE = 64 * 1024
_ZEROS = bytes(_STREAM_WRITE)

_Handler = TypeVar("_Handler", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])
_BOMBS = web.AppKey("gzip_bombs", dict)
ROUTES = web.RouteTableDef()
#: What the index lists: each route's path, an example query and what it does (`_route`).
ENDPOINTS: list[dict[str, str]] = []
MAX_BARRIER = 10_000
BARRIER_TIMEOUT_MS = 10_000


def _route(path: str, query: str, what: str) -> Callable[[_Handler], _Handler]:
    """A GET route, listed on the index."""
    ENDPOINTS.append({"path": path, "query": query, "what": what})

    def register(handler: _Handler) -> _Handler:
        ROUTES.get(path)(handler)
        return handler

    return register


def filler(n: int) -> bytes:
    """The exact body the origin sends for `n` bytes; tests compare against it."""
    return (PATTERN * (n // len(PATTERN) + 1))[:n]


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=message + "\n")


def _whole(raw: str | None, name: str, low: int, high: int, default: int | None = None) -> int:
    """Parse a whole number in [low, high]; anything else is the client's 400, not our 500."""
    if raw is None or raw == "":
        if default is None:
            raise _bad(f"{name} is required")
        return default
    if len(raw) > 12 or not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _location(raw: str | None) -> str:
    """A redirect target; control and non-ASCII characters would corrupt the header, so 400."""
    if not raw:
        raise _bad("url is required")
    if not raw.isascii() or any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in raw):
        raise _bad("url must be printable ASCII with no spaces")
    return raw


async def _open_stream(request: web.Request, length: int | None) -> web.StreamResponse:
    """An octet stream of `length` bytes (None: chunked, with no length), headers sent."""
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    if length is None:
        response.enable_chunked_encoding()
    else:
        response.content_length = length
    await response.prepare(request)
    return response


async def _send_filler(
    request: web.Request, n: int, chunk: int | None = None
) -> web.StreamResponse:
    """`n` filler bytes: one buffer when small, else streamed with back-pressure.

    With `chunk`, the body goes out as `chunk`-byte writes under chunked transfer encoding, so the
    client gets no Content-Length to check in advance.
    """
    if chunk is None and n <= len(_FILLER):
        return web.Response(body=_FILLER[:n], content_type="application/octet-stream")
    response = await _open_stream(request, n if chunk is None else None)
    if request.method == "HEAD":
        return response
    view = memoryview(_FILLER)
    step = min(chunk or _STREAM_WRITE, _MAX_WRITE)
    sent = 0
    while sent < n:
        size = min(step, n - sent)
        start = sent % len(PATTERN)
        await response.write(view[start : start + size])
        sent += size
    await response.write_eof()
    return response


@ROUTES.get("/")
async def index(request: web.Request) -> web.Response:
    """What the origin serves, for people poking at it with a browser or curl."""
    return web.json_response({"endpoints": ENDPOINTS})


@_route("/delay/{ms}", "bytes=64", "sleep ms (max 60000), then a body")
async def delay(request: web.Request) -> web.StreamResponse:
    ms = _whole(request.match_info["ms"], "delay (ms)", 0, MAX_DELAY_MS)
    n = _whole(request.query.get("bytes"), "bytes", 0, MAX_BYTES, DEFAULT_BYTES)
    await asyncio.sleep(ms / 1000)
    return await _send_filler(request, n)


@_route("/bytes/{n}", "chunk=N", "n bytes (max 50 MiB); chunk: chunked")
async def sized(request: web.Request) -> web.StreamResponse:
    n = _whole(request.match_info["n"], "bytes", 0, MAX_BYTES)
    raw_chunk = request.query.get("chunk")
    chunk = None if raw_chunk is None else _whole(raw_chunk, "chunk", 1, MAX_BYTES)
    return await _send_filler(request, n, chunk)


@_route("/status/{code}", "delay=ms", "that status (100-599)")
async def status(request: web.Request) -> web.Response:
    """That status; a 1xx goes out alone, so the client then waits for a final answer forever."""
    code = _whole(request.match_info["code"], "status", 100, 599)
    ms = _whole(request.query.get("delay"), "delay (ms)", 0, MAX_DELAY_MS, 0)
    await asyncio.sleep(ms / 1000)
    if code < 200 or code in (204, 304):
        return web.Response(status=code)
    return web.Response(status=code, text=f"status {code}")


@_route("/redirect/{n}", "to=URL", "n 302s, then 200 (or URL)")
async def redirect(request: web.Request) -> web.Response:
    """A chain of `n` relative 302s ending in 200, or, with ?to=URL, ending at URL instead."""
    n = _whole(request.match_info["n"], "redirects", 0, MAX_REDIRECTS)
    raw_to = request.query.get("to")
    to = None if raw_to is None else _location(raw_to)
    if n == 0:
        return web.Response(text="redirected")
    if n == 1 and to is not None:
        location = to
    else:
        location = f"/redirect/{n - 1}" + ("" if to is None else "?" + urlencode({"to": to}))
    return web.Response(status=302, headers={"Location": location})


@_route("/redirect-to", "url=URL&status=302", "redirect anywhere")
async def redirect_to(request: web.Request) -> web.Response:
    """Redirect anywhere, e.g. to a port the fetcher must refuse to follow."""
    location = _location(request.query.get("url"))
    code = _whole(request.query.get("status"), "status", 300, 399, 302)
    if code not in REDIRECT_STATUSES:
        raise _bad("status must be one of " + ", ".join(map(str, sorted(REDIRECT_STATUSES))))
    return web.Response(status=code, headers={"Location": location})


@_route("/redirect-loop", "", "redirects to itself forever")
async def redirect_loop(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": "/redirect-loop"})


@_route("/drip", "bytes=10&interval_ms=300", "one byte per interval")
async def drip(request: web.Request) -> web.StreamResponse:
    """One byte per interval, so only a total deadline (not a per-read timeout) can stop it.

    The interval comes before each byte: the body takes at least bytes x interval_ms.
    """
    n = _whole(request.query.get("bytes"), "bytes", 0, MAX_BYTES, 10)
    interval_ms = _whole(request.query.get("interval_ms"), "interval_ms", 0, MAX_DELAY_MS, 300)
    response = await _open_stream(request, n)
    if request.method == "HEAD":
        return response
    for i in range(n):
        await asyncio.sleep(interval_ms / 1000)
        at = i % len(PATTERN)
        await response.write(PATTERN[at : at + 1])
    await response.write_eof()
    return response


@_route("/hang", "", "accepts, never answers")
async def hang(request: web.Request) -> web.Response:
    """Accept and say nothing; the server cancels this on disconnect and on shutdown."""
    await asyncio.sleep(HANG_S)
    return web.Response(status=504, text="gave up hanging")


def _gzip_zeros(mb: int) -> bytes:
    """gzip of `mb` MiB of zeros at level 9, fed a MiB at a time so it never holds the zeros."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(MIB)
    parts = [compressor.compress(zeros) for _ in range(mb)]
    parts.append(compressor.flush())
    return b"".join(parts)


@dataclass
class _Barrier:
    """One generation of a named barrier: requests arrived, and the event that lets them go."""

    n: int
    arrived: int = 0
    opened: asyncio.Event = field(default_factory=asyncio.Event)


_BARRIERS = web.AppKey("barriers", dict)


@_route(
    "/barrier/{name}/{n}",
    "timeout_ms=10000&bytes=64",
    "holds requests until n of this name are in flight (else 504)",
)
async def barrier(request: web.Request) -> web.StreamResponse:
    """Hold each request until `n` requests of this name are in flight at once, then answer them
    all; one that waits `timeout_ms` first answers 504, saying how many had arrived.

    Tests prove "n tasks ran at once" by the barrier opening instead of by timing: a strategy
    that never has n requests in flight gets 504s, however fast or slow the machine. Once open,
    the name starts a fresh generation, so 2n requests at n at once open it twice.
    """
    name = request.match_info["name"]
    if not name or len(name) > 200:
        raise _bad("name must be 1 to 200 characters")
    n = _whole(request.match_info["n"], "n", 1, MAX_BARRIER)
    timeout_ms = _whole(
        request.query.get("timeout_ms"), "timeout_ms", 0, MAX_DELAY_MS, BARRIER_TIMEOUT_MS
    )
    size = _whole(request.query.get("bytes"), "bytes", 0, MAX_BYTES, DEFAULT_BYTES)
    barriers: dict[str, _Barrier] = request.app[_BARRIERS]
    current = barriers.get(name)
    if current is None or current.n != n:
        current = barriers[name] = _Barrier(n)
    current.arrived += 1
    if current.arrived >= n:
        current.opened.set()
        barriers.pop(name, None)  # the next request of this name starts a new generation
    try:
        await asyncio.wait_for(current.opened.wait(), timeout_ms / 1000)
    except TimeoutError:
        current.arrived -= 1
        raise web.HTTPGatewayTimeout(
            text=f"barrier {name}: {current.arrived + 1} of {n} in flight after {timeout_ms} ms\n"
        ) from None
    except asyncio.CancelledError:  # the client left: it no longer counts as in flight
        if not current.opened.is_set():
            current.arrived -= 1
        raise
    return await _send_filler(request, size)


@_route("/gzip-bomb", "mb=100", "gzip inflating to mb MiB of zeros")
async def gzip_bomb(request: web.Request) -> web.Response:
    """A small gzip body that inflates to `mb` MiB: the fetcher must cap decoded bytes."""
    mb = _whole(request.query.get("mb"), "mb", 0, MAX_BOMB_MB, 100)
    bombs: dict[int, asyncio.Task[bytes]] = request.app[_BOMBS]
    task = bombs.get(mb)
    if task is None:
        task = bombs[mb] = asyncio.create_task(asyncio.to_thread(_gzip_zeros, mb))
    # Shielded: a client hanging up must not cancel the build other requests share.
    body = await asyncio.shield(task)
    return web.Response(
        body=body,
        content_type="application/octet-stream",
        headers={"Content-Encoding": "gzip", "X-Decoded-Length": str(mb * MIB)},
    )


@_route("/huge", "gb=10", "gb GiB of zeros (gb=0: endless)")
async def huge(request: web.Request) -> web.StreamResponse:
    """Zeros with a Content-Length of `gb` GiB (gb=0: endless, chunked), until the client leaves."""
    gb = _whole(request.query.get("gb"), "gb", 0, MAX_HUGE_GB, 10)
    response = await _open_stream(request, gb * GIB if gb else None)
    if request.method == "HEAD":
        return response
    left = gb * GIB
    try:
        while left > 0 or not gb:
            await response.write(_ZEROS)
            left -= len(_ZEROS)
        await response.write_eof()
    except ConnectionError:
        pass  # The client stopped reading: the point of this endpoint.
    return response


@_route("/html-error", "", "500 with script in body and reason")
async def html_error(request: web.Request) -> web.Response:
    """A 500 whose body, reason phrase and a header carry script, for the UI's escaping tests."""
    payload = "<script>alert(1)</script>"
    body = f'<html><body><h1>Oops</h1>{payload}<img src=x onerror="alert(2)"></body></html>\n'
    return web.Response(
        status=500,
        reason=payload,
        text=body,
        content_type="text/html",
        headers={"X-Origin-Error": payload},
    )


@_route("/healthz", "", "ok")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def create_app() -> web.Application:
    """The origin application; `origin.server.serve` runs it, tests may too."""
    app = web.Application()
    app[_BOMBS] = {}
    app[_BARRIERS] = {}
    app.add_routes(ROUTES)
    return app
