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
from contextvars import ContextVar
from functools import lru_cache
from urllib.parse import urljoin

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from rq.timeouts import BaseTimeoutException

from contract.states import TaskState
from worker.fetch import (
    REDIRECT_STATUSES,
    DeadlineExceeded,
    FetchLimits,
    FetchOutcome,
    TooManyRedirects,
    _describe,
    _Progress,
)
from worker.fetch_watchdog import watchdog
from worker.guard import Allowlist, Refused, check_address, numeric_host, resolve_checked
from worker.url_check import check_url


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


class _AsyncProgress(_Progress):
    """A fetch's progress, with the sockets it is connecting, if it makes a connection: its read
    timeout starts once one is connected, as `requests`' (connect, read) pair does. The
    watchdog sees the connection made (`getpeername`) at its next look, `interval_s` at most
    after; aiohttp's own connect timeout bounds the connect. Happy eyeballs may try several
    sockets and close the losers: once none is left open, the silence counts too."""

    def __init__(self, limits: FetchLimits, *, digest: bool) -> None:
        super().__init__(limits, digest=digest)
        self.connecting: list[socket.socket] = []

    def overdue(self, now: float) -> BaseException | None:
        if self.connecting and now < self.deadline:
            if not _any_connected(self.connecting):
                return None
            self.connecting, self.last = [], now
        return super().overdue(now)


def _any_connected(socks: list[socket.socket]) -> bool:
    """True once a socket has its peer, or none is left open (nothing more to wait for)."""
    still_open = False
    for sock in socks:
        if sock.fileno() == -1:
            continue
        still_open = True
        try:
            sock.getpeername()
            return True
        except OSError:
            pass
    return not still_open


#: The fetch running in this task: the socket factory tells it of a new connection.
_fetching: ContextVar[_AsyncProgress | None] = ContextVar("fanout_fetching", default=None)


def _socket_factory(allow: Allowlist) -> Callable[[AddrInfoType], socket.socket]:
    """Checks the exact address aiohttp is about to dial: it skips the resolver for IP literals."""

    def make(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, address = addr_info
        try:
            check_address(address[0], address[1], allow)
        except Refused as exc:
            raise _RefusedSocket(str(exc)) from None
        sock = socket.socket(family, type_, proto)
        fetch = _fetching.get()
        if fetch is not None:  # its read timeout counts once this socket is connected
            fetch.connecting.append(sock)
        return sock

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
    session: aiohttp.ClientSession, url: str, limits: FetchLimits, *, digest: bool = False
) -> FetchOutcome:
    """`fetch` for asyncio, with a session from `new_async_session`. Raises only CancelledError
    (when it is not the watchdog's: that one is a TIMEOUT outcome)."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("fetch_async runs in a task")
    progress = _AsyncProgress(limits, digest=digest)
    token = _fetching.set(progress)
    guard = watchdog()
    guard.watch(task, progress, min(limits.read_timeout_s, limits.deadline_s))
    try:
        await _fetch_hops_async(session, url, progress)
        return progress.finished()
    except asyncio.CancelledError:
        if progress.stopped is None:
            raise
        return _stopped(task, progress)
    except BaseTimeoutException:
        raise
    except Exception as exc:
        if progress.stopped is not None:  # the watchdog's cancel, turned into another error
            return _stopped(task, progress)
        return progress.failed(exc)
    finally:
        guard.forget(task)
        _fetching.reset(token)


def _stopped(task: asyncio.Task[object], progress: _AsyncProgress) -> FetchOutcome:
    """The watchdog's verdict, with its cancellation taken back so the task goes on."""
    if task.cancelling():
        task.uncancel()
    assert progress.stopped is not None
    return progress.outcome(TaskState.TIMEOUT, _describe(progress.stopped))


@lru_cache(maxsize=16)
def _hop_timeout(connect_timeout_s: float) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for every hop: only the connect one, made once. `connect` covers the
    wait for a pooled connection and the name lookup too, as the sync fetcher's connect timeout
    does; it arms a timer only when a connection is made. The deadline and the read timeout are
    the watchdog's (`worker.fetch_watchdog`). `ceil_threshold` off: aiohttp would round the
    timeout up to a whole second."""
    return aiohttp.ClientTimeout(
        total=None,
        connect=connect_timeout_s,
        sock_connect=connect_timeout_s,
        sock_read=None,
        ceil_threshold=math.inf,
    )


async def _fetch_hops_async(
    session: aiohttp.ClientSession, url: str, progress: _AsyncProgress
) -> None:
    limits = progress.limits
    resolver = getattr(session.connector, "_resolver", None)
    if not isinstance(resolver, _GuardedResolver):
        raise Refused("refused: the session has no address guard (use new_async_session)")
    if resolver.allow != limits.allow:
        raise ValueError("the session's allowlist differs from limits.allow")
    current = url
    for _hop in range(limits.max_redirects + 1):
        _, host, port = check_url(current)
        for ip in numeric_host(host) or ():  # Spelled as a number: check now, for a clear refusal.
            check_address(ip, port, limits.allow)
        now = time.monotonic()
        if now >= progress.deadline:  # a redirect hop after the deadline: not even started
            raise DeadlineExceeded(f"total deadline of {limits.deadline_s:g} s passed")
        # The read timeout's silence counts from here, or once a new connection is made (see
        # _AsyncProgress); the response's headers restart it.
        progress.last = now
        timeout = _hop_timeout(limits.connect_timeout_s)
        async with session.get(current, allow_redirects=False, timeout=timeout) as resp:
            progress.last = time.monotonic()
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
