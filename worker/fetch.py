"""Fetch one stranger's URL: bounded in time and bytes, and only from an address the guard allows.

The guard runs where sockets are made (a urllib3 connection class for `requests`; a resolver and
a socket factory for aiohttp), so every new connection, on every redirect hop, is checked on the
address it actually dials. Bodies are counted raw (never decompressed) and read with the total
deadline checked between reads; for `requests`, a watchdog also shuts the socket at the deadline,
since a server dripping headers or body never lets a per-read timeout fire.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import aiohttp
import requests
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from requests.adapters import HTTPAdapter
from rq.timeouts import BaseTimeoutException
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.connection import create_connection

from contract.settings import Settings
from contract.states import TaskState
from worker.guard import Allowlist, Refused, check_address, check_url, numeric_host, resolve_checked

CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
EMPTY_DIGEST = hashlib.sha256(b"").digest()
MAX_ERROR_CHARS = 300


class TooManyRedirects(Exception):
    """More redirects than `max_redirects`."""


class BodyTooLarge(Exception):
    """The body went past `max_bytes`; reading stopped there."""


class DeadlineExceeded(TimeoutError):
    """The task's total deadline passed, whatever the connection was doing."""


class _RefusedSocket(Refused, OSError):
    """A refusal raised inside aiohappyeyeballs, which only passes OSErrors on."""


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one task. `deadline_s` covers the whole task: every hop and the body."""

    connect_timeout_s: float
    read_timeout_s: float
    deadline_s: float
    max_bytes: int
    max_redirects: int
    allow: Allowlist

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            connect_timeout_s=settings.connect_timeout_s,
            read_timeout_s=settings.read_timeout_s,
            deadline_s=settings.task_deadline_s,
            max_bytes=settings.max_bytes,
            max_redirects=settings.max_redirects,
            allow=Allowlist.parse(settings.allow_hosts),
        )

    def hop_timeouts(self, deadline: float) -> tuple[float, float]:
        """(connect, read) timeouts for the next hop: never past the task's deadline."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(f"total deadline of {self.deadline_s:g} s passed")
        return min(self.connect_timeout_s, remaining), min(self.read_timeout_s, remaining)


@dataclass(frozen=True)
class FetchOutcome:
    """How one fetch ended. `bytes` and `digest` cover the raw body read, even on failure."""

    state: TaskState
    status_code: int | None = None
    bytes: int = 0
    error: str | None = None
    digest: bytes = EMPTY_DIGEST


class _Progress:
    """What a fetch has seen so far, so a failed one still reports its status and bytes."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.deadline_s
        self.status: int | None = None
        self.bytes = 0
        self._sha = hashlib.sha256()

    def want(self) -> int:
        """How much to read next: one byte past the cap is enough to know it was passed."""
        return min(CHUNK_BYTES, self.limits.max_bytes - self.bytes + 1)

    def add(self, data: bytes) -> None:
        self.bytes += len(data)
        self._sha.update(data)
        if self.bytes > self.limits.max_bytes:
            raise BodyTooLarge(f"body exceeds max_bytes {self.limits.max_bytes}")
        if time.monotonic() >= self.deadline:
            raise DeadlineExceeded(f"total deadline of {self.limits.deadline_s:g} s passed")

    def outcome(self, state: TaskState, error: str | None = None) -> FetchOutcome:
        return FetchOutcome(state, self.status, self.bytes, error, self._sha.digest())

    def finished(self) -> FetchOutcome:
        ok = self.status is not None and self.status < 400
        return self.outcome(TaskState.OK if ok else TaskState.HTTP_ERROR)

    def failed(self, exc: Exception) -> FetchOutcome:
        chain = _chain(exc)
        refusal = next((e for e in chain if isinstance(e, Refused)), None)
        if refusal is not None:
            return self.outcome(TaskState.REFUSED, _clip(str(refusal)))
        if time.monotonic() >= self.deadline:
            exc = DeadlineExceeded(f"total deadline of {self.limits.deadline_s:g} s passed")
            return self.outcome(TaskState.TIMEOUT, _describe(exc))
        if any(_is_timeout(e) for e in chain):
            return self.outcome(TaskState.TIMEOUT, _describe(exc))
        return self.outcome(TaskState.ERROR, _describe(exc))


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and all it wraps: causes, requests' args, urllib3 reason, aiohttp os_error."""
    seen: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < 20:
        item = todo.pop()
        if isinstance(item, BaseException) and all(item is not s for s in seen):
            seen.append(item)
            todo += [item.__cause__, item.__context__, getattr(item, "reason", None)]
            todo += [getattr(item, "os_error", None), *item.args[:1]]
    return seen


def _is_timeout(exc: BaseException) -> bool:
    # urllib3 makes NewConnectionError (refused, unreachable) a ConnectTimeoutError subclass.
    if isinstance(exc, NewConnectionError):
        return False
    return isinstance(exc, TimeoutError | requests.Timeout | Urllib3Timeout)


def _describe(exc: BaseException) -> str:
    inner: BaseException = exc
    while True:
        if isinstance(inner, requests.RequestException) and inner.args:
            if not isinstance(inner.args[0], BaseException):
                break
            inner = inner.args[0]
        elif isinstance(inner, MaxRetryError) and inner.reason is not None:
            inner = inner.reason
        else:
            break
    return _clip(f"{type(inner).__name__}: {inner}")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


# --- requests ------------------------------------------------------------------------------


class _Watch:
    """One sync fetch's deadline: when it passes, shut the socket the fetch may be blocked on."""

    def __init__(self) -> None:
        self.conn: HTTPConnection | None = None
        self.done = False
        self.fired = False

    def fire(self) -> None:
        if self.done:
            return
        self.fired = True
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even under TLS: it wakes a blocked read at once.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Alarm:
    """One daemon thread firing every fetch's watch at its deadline, cheaper than a Timer each."""

    def __init__(self) -> None:
        self._pid = -1
        self._start_lock = threading.Lock()

    def arm(self, when: float, watch: _Watch) -> None:
        if self._pid != os.getpid():  # First use, or a forked RQ work-horse: no thread here yet.
            with self._start_lock:
                if self._pid != os.getpid():
                    self._cond = threading.Condition()
                    self._heap: list[tuple[float, int, _Watch]] = []
                    self._seq = itertools.count()
                    threading.Thread(target=self._run, name="fetch-alarm", daemon=True).start()
                    self._pid = os.getpid()
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), watch))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                watch = heapq.heappop(self._heap)[2]
            watch.fire()


_ALARM = _Alarm()
_local = threading.local()


class _GuardedConnection(HTTPConnection):
    """Resolves once with `resolve_checked` and dials only the addresses it returned.

    `host` is left alone, so the Host header, SNI and certificate check use the URL's name.
    """

    allow = Allowlist()

    def _new_conn(self) -> socket.socket:
        try:
            ips = resolve_checked(self._dns_host, self.port, self.allow)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: Exception | None = None
        for ip in ips:
            try:
                return create_connection(
                    (ip, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError:
                error = ConnectTimeoutError(self, f"connect to {ip} timed out ({self.timeout} s)")
            except OSError as exc:
                error = NewConnectionError(self, f"cannot connect to {ip}: {exc}")
        assert error is not None
        raise error

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_local, "watch", None)
        if watch is not None:  # New or reused, this is the socket the fetch now waits on.
            watch.conn = self
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


@lru_cache(maxsize=32)
def _pool_classes(allow: Allowlist) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections carry `allow` (urllib3 pool keys reject extra kwargs)."""
    http = type("GuardedHTTPConnection", (_GuardedConnection,), {"allow": allow})
    https = type("GuardedHTTPSConnection", (_GuardedHTTPSConnection,), {"allow": allow})
    return {
        "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class _GuardedAdapter(HTTPAdapter):
    __attrs__ = [*HTTPAdapter.__attrs__, "allow"]

    def __init__(self, allow: Allowlist) -> None:
        self.allow = allow
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allow)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        raise Refused("refused: fetches never go through a proxy")


def new_session(allow: Allowlist) -> requests.Session:
    """A guarded Session for one thread: no proxies from the environment, no cookies kept."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = _GuardedAdapter(allow)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def fetch(session: requests.Session, url: str, limits: FetchLimits) -> FetchOutcome:
    """Fetch `url` with a session from `new_session`; every failure becomes an outcome."""
    progress = _Progress(limits)
    watch = _Watch()
    try:
        _ALARM.arm(progress.deadline, watch)
        _local.watch = watch
        _fetch_hops(session, url, progress)
        if watch.fired:  # The watchdog cut the body short.
            raise DeadlineExceeded(f"total deadline of {limits.deadline_s:g} s passed")
        return progress.finished()
    except BaseTimeoutException:
        raise  # RQ's job timeout must still end the job.
    except Exception as exc:
        return progress.failed(exc)
    finally:
        watch.done, watch.conn, _local.watch = True, None, None


def _fetch_hops(session: requests.Session, url: str, progress: _Progress) -> None:
    limits = progress.limits
    adapter = session.get_adapter(check_url(url)[0] + "://")
    if not isinstance(adapter, _GuardedAdapter):
        raise Refused("refused: the session has no address guard (use new_session)")
    if adapter.allow != limits.allow:
        raise ValueError("the session's allowlist differs from limits.allow")
    current = url
    for _hop in range(limits.max_redirects + 1):
        check_url(current)
        timeout = limits.hop_timeouts(progress.deadline)
        with session.get(current, stream=True, allow_redirects=False, timeout=timeout) as resp:
            progress.status = resp.status_code
            location = resp.headers.get("Location")
            if resp.status_code in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                continue
            # read1, not stream(): read(64 KiB) would wait for all 64 KiB of a drip.
            while data := resp.raw.read1(progress.want(), decode_content=False):
                progress.add(data)
            return
    raise TooManyRedirects(f"more than {limits.max_redirects} redirects")


# --- aiohttp -------------------------------------------------------------------------------


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
        async with asyncio.timeout(limits.deadline_s):
            await _fetch_hops_async(session, url, progress)
        return progress.finished()
    except BaseTimeoutException:
        raise
    except Exception as exc:
        return progress.failed(exc)


async def _fetch_hops_async(session: aiohttp.ClientSession, url: str, progress: _Progress) -> None:
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
        connect_s, read_s = limits.hop_timeouts(progress.deadline)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_s, sock_read=read_s)
        async with session.get(current, allow_redirects=False, timeout=timeout) as resp:
            progress.status = resp.status
            location = resp.headers.get("Location")
            if resp.status in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                continue
            while data := await resp.content.read(progress.want()):
                progress.add(data)
            return
    raise TooManyRedirects(f"more than {limits.max_redirects} redirects")
