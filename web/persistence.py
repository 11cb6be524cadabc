"""The web app's view of Redis persistence (contract.persistence), read once a minute at most.

Read at the first request of each process, not in the app factory (which connects to nothing),
then again every REFRESH_S so a Redis restarted with other settings is noticed. A verdict that
would lose queued work is logged once per process.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app
from redis.exceptions import RedisError

from contract.persistence import Persistence, read_persistence
from web.clients import get_redis

log = logging.getLogger(__name__)

EXTENSION = "fanout_persistence"
REFRESH_S = 60.0


class PersistenceView:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read_at = -REFRESH_S
        self._current: Persistence | None = None
        self._warned: Persistence | None = None

    def current(self) -> Persistence | None:
        """The last verdict, refreshed when stale; None while Redis cannot be asked."""
        with self._lock:
            if time.monotonic() - self._read_at < REFRESH_S:
                return self._current
        try:
            found = read_persistence(get_redis())
        except RedisError:
            return None
        with self._lock:
            self._current, self._read_at = found, time.monotonic()
            if found.loses_queued_work is not False and found != self._warned:
                self._warned = found
                log.warning("%s", found.message)
        return found


def init_persistence(app: Flask) -> None:
    app.extensions[EXTENSION] = PersistenceView()


def current_persistence() -> Persistence | None:
    view: PersistenceView = current_app.extensions[EXTENSION]
    return view.current()
