"""A request's body must arrive within a deadline of its headers, or the connection is closed.

Under gevent a slow client costs a parked greenlet, not an app thread, but one that announces a
body and sends it a byte now and then (or never) would hold its connection for ever: gunicorn's
`keepalive` bounds only the wait for a request's headers (and for the next request), and its
`timeout` only a worker's heartbeat. So gunicorn's `pre_request` hook (`web.gunicorn_conf`)
wraps each request's body: every read waits at most until the deadline; past it the request
ends 408 and its connection closes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn, Protocol, TypeVar

import gevent
from gunicorn.http.errors import NoMoreData
from werkzeug.exceptions import RequestTimeout

_Read = TypeVar("_Read")


class _Body(Protocol):
    """What gunicorn's request body offers (gunicorn ships no types)."""

    def read(self, size: int | None = None) -> bytes: ...
    def readline(self, size: int | None = None) -> bytes: ...
    def readlines(self, size: int | None = None) -> list[bytes]: ...


class DeadlineBody:
    """gunicorn's request body (`wsgi.input`), each read bounded by the request's deadline."""

    def __init__(self, req: Any, timeout_s: float) -> None:
        self._req = req
        self._body: _Body = req.body
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        #: Set once the request is answered: what is left of the body is only being discarded.
        self.answered = False

    def read(self, size: int | None = None) -> bytes:
        return self._bounded(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._bounded(self._body.readline, size)

    def readlines(self, size: int | None = None) -> list[bytes]:
        return self._bounded(self._body.readlines, size)

    def __iter__(self) -> DeadlineBody:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def _bounded(self, read: Callable[[int | None], _Read], size: int | None) -> _Read:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self._expire()
        timer = gevent.Timeout(remaining)
        timer.start()
        try:
            return read(size)
        except gevent.Timeout as fired:
            if fired is not timer:
                raise
            self._expire()
        finally:
            timer.close()

    def _expire(self) -> NoReturn:
        """The request ends 408 and gunicorn closes its connection after answering (the rest of
        the body is never waited for). Once answered, gunicorn is discarding the body before
        the next request: the connection just closes, as after a client that went away."""
        self._req.must_close = True
        if self.answered:
            raise NoMoreData(b"")
        raise RequestTimeout(
            f"the request's body did not arrive within {self._timeout_s:g} s of its headers"
        )
