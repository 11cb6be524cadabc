"""Fetch one stranger's URL: bounded in time and bytes, and only from an address the guard allows.

The guard runs where sockets are made (a urllib3 connection class for `requests`; a resolver and
a socket factory for aiohttp), so every new connection, on every redirect hop, is checked on the
address it actually dials. Bodies are counted raw (never decompressed) and read with the total
deadline checked between reads; for `requests`, a watchdog also shuts the socket at the deadline,
since a server dripping headers or body never lets a per-read timeout fire.

This module is what both clients share, so they bound, count and judge a fetch the same way: the
limits, the outcome, the errors, and how a failure becomes an outcome. The clients themselves are
`worker.fetch_sync` (`requests`) and `worker.fetch_async` (aiohttp).
"""

from __future__ import annotations

import builtins
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from contract.settings import Settings
from contract.states import TaskState
from worker.guard import Allowlist, Refused

CHUNK_BYTES = 64 * 1024
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: A fetch not asked for the body's digest: hashing costs a tiny task ~5 % of its client CPU.
NO_DIGEST = b""
MAX_ERROR_CHARS = 300


class TooManyRedirects(Exception):
    """More redirects than `max_redirects`."""


class BodyTooLarge(Exception):
    """The body went past `max_bytes`; reading stopped there."""


class DeadlineExceeded(TimeoutError):
    """The task's total deadline passed, whatever the connection was doing."""


class ReadTimedOut(TimeoutError):
    """No byte came for the read timeout (the asyncio watchdog's verdict)."""


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


@dataclass(kw_only=True)
class FetchOutcome:
    """How one fetch ended. `bytes` and `digest` cover the raw body read, even on failure;
    `digest` is the body's SHA-256 only when the fetch was asked for it (the cpu workload seeds
    its work with it), else empty. Not frozen: one is made per task, and a frozen dataclass's
    `__init__` costs several times a plain one's (see `contract.records`)."""

    state: TaskState
    status_code: int | None = None
    bytes: int = 0
    error: str | None = None
    digest: builtins.bytes = NO_DIGEST


class _Progress:
    """What a fetch has seen so far, so a failed one still reports its status and bytes."""

    def __init__(self, limits: FetchLimits, *, digest: bool = False) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.deadline_s
        self.status: int | None = None
        self.bytes = 0
        #: The body's hash, only when asked for.
        self._sha: Any = hashlib.sha256() if digest else None
        #: When the read timeout's silence starts counting (asyncio: see `overdue`).
        self.last = 0.0
        #: Why the asyncio watchdog stopped this fetch, if it did.
        self.stopped: BaseException | None = None

    def want(self) -> int:
        """How much to read next: one byte past the cap is enough to know it was passed."""
        return min(CHUNK_BYTES, self.limits.max_bytes - self.bytes + 1)

    def add(self, data: bytes) -> None:
        self.bytes += len(data)
        if self._sha is not None:
            self._sha.update(data)
        if self.bytes > self.limits.max_bytes:
            raise BodyTooLarge(f"body exceeds max_bytes {self.limits.max_bytes}")
        self.last = now = time.monotonic()
        if now >= self.deadline:
            raise DeadlineExceeded(f"total deadline of {self.limits.deadline_s:g} s passed")

    def overdue(self, now: float) -> BaseException | None:
        """Past the deadline, or silent since `last` for the read timeout: the asyncio
        watchdog's test (`worker.fetch_watchdog`)."""
        if now >= self.deadline:
            return DeadlineExceeded(f"total deadline of {self.limits.deadline_s:g} s passed")
        if now - self.last >= self.limits.read_timeout_s:
            return ReadTimedOut(f"no data for {self.limits.read_timeout_s:g} s (read timeout)")
        return None

    def outcome(self, state: TaskState, error: str | None = None) -> FetchOutcome:
        digest = NO_DIGEST if self._sha is None else self._sha.digest()
        return FetchOutcome(
            state=state, status_code=self.status, bytes=self.bytes, error=error, digest=digest
        )

    def finished(self) -> FetchOutcome:
        ok = self.status is not None and self.status < 400
        return self.outcome(TaskState.OK if ok else TaskState.HTTP_ERROR)

    def failed(self, exc: Exception) -> FetchOutcome:
        chain = _chain(exc)
        refusal = next((e for e in chain if isinstance(e, Refused)), None)
        if refusal is not None:
            return self.outcome(TaskState.REFUSED, _clip(str(refusal)))
        late = time.monotonic() >= self.deadline
        if late:
            exc = DeadlineExceeded(f"total deadline of {self.limits.deadline_s:g} s passed")
        if late or any(_is_timeout(e) for e in chain):
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
