"""One daemon thread per process visiting every open item each interval: cheaper than a thread
per job, which a one-URL job would pay for nothing. The recorder's flusher (`worker.recorder`)
and the cost sampler (`worker.cost`) are two."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Ticker(Generic[T]):
    """Calls `visit` on each open item every `interval_s`, then each `after_tick` hook. A failure
    is logged at debug level: what it did not write is kept for the next tick."""

    def __init__(self, name: str, interval_s: float, visit: Callable[[T], None]) -> None:
        self.name = name
        self.interval_s = interval_s
        self.visit = visit
        #: Called after each tick's visits (`worker.cost_book` writes the costs it deferred).
        self.after_tick: list[Callable[[], None]] = []
        self._forget_after_fork()
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def _forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._open: set[T] = set()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def add(self, item: T) -> None:
        """Opens `item`, starting the thread if this process has none yet."""
        if self._thread is None:
            self.start()
        with self._lock:
            self._open.add(item)

    def remove(self, item: T) -> None:
        with self._lock:
            self._open.discard(item)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            with self._lock:
                items = list(self._open)
            calls: list[Callable[[], None]] = [partial(self.visit, item) for item in items]
            for call in calls + self.after_tick:
                try:
                    call()
                except Exception:
                    log.debug("%s: failed; kept for the next tick", self.name, exc_info=True)
