"""The aiohttp side of the fetcher, for the asyncio strategy.

It exists apart from `worker.fetch_sync` so each client's socket-level guard lives with the
library it hooks into: here, a resolver that checks every address of a name and a socket factory
that checks the exact address dialled (aiohttp skips the resolver for IP literals).
"""

from __future__ import annotations

import asyncio
import math
import socket
import time
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urljoin

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from rq.timeouts import BaseTimeoutException

from worker.fetch import (
    REDIRECT_STATUSES,
    DeadlineExceeded,
    FetchLimits,
    FetchOutcome,
    TooManyRedirects,
    _Progress,
)
from worker.guard import Allowlist, Refused, check_address, check_url, numeric_host, resolve_checked


class _RefusedSocket(Refused, OSError):
    """A refusal raised inside aiohappyeyeballs, which only passes OSErrors on."""


class _GuardedResolver(AbstractResolver):
    """Resolves names with `resolve_checked`: every address of a name is checked, every time."""

    def __init__(self, allow: Allowlist) -> None:
        self.allow = allow

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        loop = asyncio.get_running_loop()
        ips = await loop.run_in_executor(None, resolve_checked, host, port, self.allow)
        results: list[ResolveResult] = []
        for ip in ips:
            ip_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            if family in (socket.AF_UNSPEC, ip_family):
                results.append(
                    ResolveResult(
                        hostname=host,
                        host=ip,
                        port=port,
                        family=ip_family,
                        proto=0,
                        flags=socket.AI_NUMERICHOST,
                    )
                )
        if not results:
            raise OSError(f"{host} has no address of family {family!r}")
        return results

    async def close(self) -> None:
        pass


def _socket_factory(allow: Allowlist) -> Callable[[AddrInfoType], socket.socket]:
    """Checks the exact address aiohttp is about to dial: it skips the resolver for IP literals."""

    def make(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        try:
            check_address(address[0], address[1], allow)
        except Refused as exc:
            raise _RefusedSocket(str(exc)) from None
        return socket.socket(family, type_, proto)

    return make


def new_async_session(allow: Allowlist, limit: int) -> aiohttp.ClientSession:
    """A guarded ClientSession; call inside the running loop. No DNS cache, so no stale answers."""
    connector = aiohttp.TCPConnector(
        limit=limit,
        resolver=_GuardedResolver(allow),
        use_dns_cache=False,
        socket_factory=_socket_factory(allow),
    )
    return aiohttp.ClientSession(
        connector=connector,
        trust_env=False,
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def fetch_async(
    session: aiohttp.ClientSession, url: str, limits: FetchLimits
) -> FetchOutcome:
    """`fetch` for asyncio, with a session from `new_async_session`. Raises only CancelledError."""
    progress = _Progress(limits)
    try:
        await _fetch_hops_async(session, url, progress)
        return progress.finished()
    except BaseTimeoutException:
        raise
    except Exception as exc:
        return progress.failed(exc)


@lru_cache(maxsize=16)
def _first_hop_timeout(
    connect_timeout_s: float, read_timeout_s: float, deadline_s: float
) -> aiohttp.ClientTimeout:
    """The first hop's timeouts, the configured ones: made once, not per task. Its total starts
    with the request, a few microseconds after the task's deadline was set (the guard's checks
    between), as the `asyncio.timeout` it replaces did."""
    connect_s = min(connect_timeout_s, deadline_s)
    return aiohttp.ClientTimeout(
        total=deadline_s,
        connect=connect_s,
        sock_connect=connect_s,
        sock_read=min(read_timeout_s, deadline_s),
        ceil_threshold=math.inf,
    )


def _hop_timeout(limits: FetchLimits, deadline: float) -> aiohttp.ClientTimeout:
    """The next hop's timeouts. `total` is what is left of the task's deadline: aiohttp's total
    covers the whole request, from waiting for a pooled connection and the name lookup to the
    last byte of the body, so the hops together never pass the deadline. It replaces an
    `asyncio.timeout` around the fetch, which cost a tiny task ~7% of its client CPU on top of
    the timer aiohttp keeps anyway. `ceil_threshold` off: aiohttp would round the deadline up
    to a whole second."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded(f"total deadline of {limits.deadline_s:g} s passed")
    connect_s = min(limits.connect_timeout_s, remaining)
    # `connect` covers the name lookup too, as the sync fetcher's connect timeout does.
    return aiohttp.ClientTimeout(
        total=remaining,
        connect=connect_s,
        sock_connect=connect_s,
        sock_read=min(limits.read_timeout_s, remaining),
        ceil_threshold=math.inf,
    )


async def _fetch_hops_async(session: aiohttp.ClientSession, url: str, progress: _Progress) -> None:
    limits = progress.limits
    resolver = getattr(session.connector, "_resolver", None)
    if not isinstance(resolver, _GuardedResolver):
        raise Refused("refused: the session has no address guard (use new_async_session)")
    if resolver.allow != limits.allow:
        raise ValueError("the session's allowlist differs from limits.allow")
    current = url
    for hop in range(limits.max_redirects + 1):
        _, host, port = check_url(current)
        for ip in numeric_host(host) or ():  # Spelled as a number: check now, for a clear refusal.
            check_address(ip, port, limits.allow)
        if hop == 0:
            timeout = _first_hop_timeout(
                limits.connect_timeout_s, limits.read_timeout_s, limits.deadline_s
            )
        else:
            timeout = _hop_timeout(limits, progress.deadline)
        async with session.get(current, allow_redirects=False, timeout=timeout) as resp:
            progress.status = resp.status
            location = resp.headers.get("Location")
            if resp.status in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                continue
            content = resp.content
            while data := await content.read(progress.want()):
                progress.add(data)
                if content.at_eof():  # all of it is in: no read just to be told so
                    break
            return
    raise TooManyRedirects(f"more than {limits.max_redirects} redirects")
