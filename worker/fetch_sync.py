"""The `requests` side of the fetcher, used by every strategy but asyncio.

It exists apart from `worker.fetch_async` so each client's socket-level guard lives with the
library it hooks into: here, guarded urllib3 connection classes behind a `requests` adapter, and
the watchdog that shuts a socket at the task's deadline (a dripping server never lets a per-read
timeout fire).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import os
import socket
import threading
import time
from functools import lru_cache
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from rq.timeouts import BaseTimeoutException
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from worker.fetch import (
    REDIRECT_STATUSES,
    DeadlineExceeded,
    FetchLimits,
    FetchOutcome,
    TooManyRedirects,
    _Progress,
)
from worker.guard import Allowlist, Refused, ResolveTimeout, resolve_checked
from worker.url_check import check_url


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
    """One daemon thread firing every fetch's watch at its deadline, cheaper than a Timer each.

    It sleeps until the earliest deadline it knows of and is woken only for an earlier one.
    Deadlines are armed in about the order they fall due, and the fetch nearly always ends
    first: so a fetch arms without waking the thread (a wakeup per tiny task, and the GIL
    handed over twice for it, before), and the watches of fetches that ended are dropped from
    the heap's head as later ones are armed, or when the thread wakes: behind a fetch still
    running, the heap holds at most one deadline's worth of them.
    """

    def __init__(self) -> None:
        #: Times the thread woke up (tests count them).
        self.wakeups = 0
        self._forget_after_fork()
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def _forget_after_fork(self) -> None:
        """A forked RQ work-horse has no alarm thread: the first fetch there starts one."""
        self._started = False
        self._start_lock = threading.Lock()

    def arm(self, when: float, watch: _Watch) -> None:
        if not self._started:
            with self._start_lock:
                if not self._started:
                    self._cond = threading.Condition()
                    self._heap: list[tuple[float, int, _Watch]] = []
                    self._seq = itertools.count()
                    #: The deadline the thread sleeps until (-inf: awake, it looks again).
                    self._wake_at = -math.inf
                    threading.Thread(target=self._run, name="fetch-alarm", daemon=True).start()
                    self._started = True
        with self._cond:
            heap = self._heap
            while heap and heap[0][2].done:
                heapq.heappop(heap)
            heapq.heappush(heap, (when, next(self._seq), watch))
            if when < self._wake_at:
                self._cond.notify()

    def _run(self) -> None:
        heap = self._heap
        while True:
            with self._cond:
                while True:
                    while heap and heap[0][2].done:
                        heapq.heappop(heap)
                    now = time.monotonic()
                    if heap and heap[0][0] <= now:
                        break
                    self._wake_at = heap[0][0] if heap else math.inf
                    self._cond.wait(self._wake_at - now if heap else None)
                    self._wake_at = -math.inf
                    self.wakeups += 1
                watch = heapq.heappop(heap)[2]
            watch.fire()


_ALARM = _Alarm()
_local = threading.local()


class _GuardedConnection(HTTPConnection):
    """Resolves once with `resolve_checked` and dials only the addresses it returned.

    `host` is left alone, so the Host header, SNI and certificate check use the URL's name.
    """

    allow = Allowlist()

    def _new_conn(self) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        try:
            # The connect timeout covers the name lookup too, as curl's does.
            ips = resolve_checked(self._dns_host, self.port, self.allow, timeout)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except ResolveTimeout as exc:
            raise ConnectTimeoutError(self, str(exc)) from exc
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


@lru_cache(maxsize=32)
def _pool_classes(allow: Allowlist) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes whose connections carry `allow` (urllib3 pool keys reject extra kwargs)."""
    http = type("GuardedHTTPConnection", (_GuardedConnection,), {"allow": allow})
    https = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"allow": allow})
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


def fetch(
    session: requests.Session, url: str, limits: FetchLimits, *, digest: bool = False
) -> FetchOutcome:
    """Fetch `url` with a session from `new_session`; every failure becomes an outcome. With
    `digest`, the outcome carries the body's SHA-256."""
    progress = _Progress(limits, digest=digest)
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


def _prepare(session: requests.Session, url: str) -> requests.PreparedRequest:
    """A GET with the session's headers only. `Session.prepare_request` also merges cookies,
    auth and netrc, none of which a guarded fetch uses, at a visible share of a tiny task's
    client CPU."""
    prepared = requests.PreparedRequest()
    prepared.prepare(method="GET", url=url, headers=session.headers, hooks=session.hooks)
    return prepared


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
        with session.send(
            _prepare(session, current),
            stream=True,
            allow_redirects=False,
            timeout=timeout,
            proxies={},
            verify=session.verify,
            cert=session.cert,
        ) as resp:
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
