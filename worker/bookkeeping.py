"""RQ's bookkeeping on the worker's own hash, written at most once a second.

RQ's worker loop writes its worker hash several times for every job: a heartbeat (HSET + EXPIRE,
each outside a pipeline) before the dequeue, after it and after the job, `state` idle after the
job and again before the next dequeue, the job counters, and it checks `rq suspend` before each
one: for one-URL jobs, 12 of a job's 76 Redis commands and about a fifth of its worker CPU
(`python -m bench.job_costs`). The worker key lives for minutes (RQ's worker_ttl + 60 s), so a
heartbeat a second keeps it as alive as a hundred; a state written less than a second ago is not
written again; a suspension is seen within a second. Beats that carry their own TTL (a job's, in
RQ's pipelines) and writes inside a pipeline always go through.

The jobs done and working time of fanout's own jobs (`worker.job_path`) are added up here and
written with the loop's heartbeat calls at most once a second, when the worker is about to wait
on an empty queue, and at its death: the Workers page sees them a second late at most while the
worker is busy, and all of them once it waits.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from rq.job import Job
from rq.queue import Queue
from rq.utils import now

from worker.redis_gone import REDIS_GONE, StoppingWorkerBase

#: The least time between two writes of the same bookkeeping, seconds.
EVERY_S = 1.0


class OncePerSecondBookkeeping(StoppingWorkerBase):
    """A mixin for an RQ worker class, placed before it."""

    _state_written: tuple[str, float] = ("", 0.0)
    _suspension_checked_at = 0.0
    #: Jobs done and their working seconds not yet added to the worker hash, and when it was.
    _jobs_done = 0
    _working_s = 0.0
    _counts_written_at = 0.0

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if (
            pipeline is None
            and self._jobs_done
            and time.monotonic() - self._counts_written_at >= EVERY_S
        ):
            try:
                self._write_counts()
            except REDIS_GONE as error:  # as RQ's own heartbeat would (worker.redis_gone)
                self._stop_if_stopping(error)
                raise
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

    def _state_was_written(self, state: str) -> None:
        """A state written outside `set_state` (`worker.job_path`'s transactions)."""
        self._state_written = (state, time.monotonic())

    def check_for_suspension(self, burst: bool) -> None:
        clock = time.monotonic()
        if clock - self._suspension_checked_at < EVERY_S:
            return
        super().check_for_suspension(burst)
        self._suspension_checked_at = time.monotonic()

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """With counts not yet written, a look that does not wait first (RQ's burst dequeue, a
        non-blocking LMOVE): a worker about to wait on an empty queue writes them."""
        if self._jobs_done and timeout is not None:
            found = super().dequeue_job_and_maintain_ttl(None)
            if found is not None:
                return found
            with contextlib.suppress(*REDIS_GONE):  # the dequeue below meets Redis as RQ does
                self._write_counts()
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def _count_success(self, working_s: float) -> None:
        """A job done: RQ's `increment_successful_job_count` and `increment_total_working_time`,
        written later."""
        self._jobs_done += 1
        self._working_s += working_s

    def _write_counts(self) -> None:
        done, working = self._jobs_done, self._working_s
        if done:
            with self.connection.pipeline() as pipe:
                pipe.hincrby(self.key, "successful_job_count", done)
                pipe.hincrbyfloat(self.key, "total_working_time", working)
                pipe.execute()
            self._jobs_done -= done
            self._working_s -= working
        self._counts_written_at = time.monotonic()

    def register_death(self) -> None:
        """RQ's, after the counts not yet written (the hash stays a minute after death)."""
        self._write_counts()
        super().register_death()  # type: ignore[no-untyped-call]  # unannotated in RQ
