"""RQ's bookkeeping on the worker's own hash, written at most once a second.

RQ's worker loop writes its worker hash several times for every job: a heartbeat (HSET + EXPIRE,
each outside a pipeline) before the dequeue, after it and after the job, `state` idle after the
job and again before the next dequeue, and it checks `rq suspend` before each one: for one-URL
jobs, 12 of a job's 76 Redis commands and about a fifth of its worker CPU (`python -m
bench.job_costs`). The worker key lives for minutes (RQ's worker_ttl + 60 s), so a heartbeat a
second keeps it as alive as a hundred; a state written less than a second ago is not written
again; a suspension is seen within a second. Beats that carry their own TTL (a job's, in
RQ's pipelines) and writes inside a pipeline always go through.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rq.utils import now

if TYPE_CHECKING:  # mypy checks the mixin as the RQ worker it is mixed into
    from rq.worker import BaseWorker as _WorkerBase
else:
    _WorkerBase = object


#: The least time between two writes of the same bookkeeping, seconds.
EVERY_S = 1.0


class OncePerSecondBookkeeping(_WorkerBase):
    """A mixin for an RQ worker class, placed before it."""

    _state_written: tuple[str, float] = ("", 0.0)
    _suspension_checked_at = 0.0

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        last = self.last_heartbeat
        own_ttl = timeout is not None or pipeline is not None
        if not own_ttl and last is not None and (now() - last).total_seconds() < EVERY_S:
            return
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        clock = time.monotonic()
        written, at = self._state_written
        if pipeline is None and state == written and clock - at < EVERY_S:
            return
        super().set_state(state, pipeline)
        self._state_written = (state, clock) if pipeline is None else ("", 0.0)

    def check_for_suspension(self, burst: bool) -> None:
        clock = time.monotonic()
        if clock - self._suspension_checked_at < EVERY_S:
            return
        super().check_for_suspension(burst)
        self._suspension_checked_at = time.monotonic()
