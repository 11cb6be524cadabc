"""A warm stop without Redis: the worker stops without reporting instead of retrying Redis.

RQ's dequeue retries a lost Redis forever, with a growing backoff, and looks at no stop request
meanwhile; its teardown then fails on the same lost Redis with a traceback. A worker asked to stop
while its Redis is gone (a compose Redis stopped together with the stack) would wait for
something to kill it. Here, once a stop is requested, a Redis error ends the worker at once: the
job in hand could not be reported anyway. One line says so.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.exceptions import StopRequested
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker

if TYPE_CHECKING:  # mypy checks a mixin as the RQ worker it is mixed into
    WorkerBase = BaseWorker
else:
    WorkerBase = object


#: What a Redis that is gone raises: refused or timed-out connections, unanswered calls.
REDIS_GONE = (RedisConnectionError, RedisTimeoutError)

#: RQ's longest wait between two attempts to reach a lost Redis (RQ's default is 60 s). A stop
#: requested meanwhile is seen at the next attempt, so a warm stop without Redis ends within
#: about this long plus a connect timeout (`contract.connection`): 10 s.
MAX_RECONNECT_WAIT_S = 5.0


class StopWithoutRedis(WorkerBase):
    """A mixin for RQ workers: with a stop requested, a Redis error stops the worker."""

    max_connection_wait_time = MAX_RECONNECT_WAIT_S

    _stop_requested: bool
    _said_redis_gone = False

    def _say_redis_gone(self, error: Exception) -> None:
        if not self._said_redis_gone:
            self._said_redis_gone = True
            self.log.warning(
                "Worker %s: Redis unreachable: stopping without reporting (%s)",
                self.name,
                error,
            )

    def _stop_if_stopping(self, error: Exception) -> None:
        """Raise StopRequested (RQ's loop ends on it) if a stop was requested."""
        if self._stop_requested:
            self._say_redis_gone(error)
            raise StopRequested from error

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ calls it before every attempt to reach a lost Redis, and between jobs."""
        try:
            super().heartbeat(timeout, pipeline)
        except REDIS_GONE as error:
            self._stop_if_stopping(error)
            raise

    def execute_job(self, job: Job, queue: Queue) -> Any:
        """The job in hand ends; reporting it needs Redis."""
        try:
            return super().execute_job(job, queue)
        except REDIS_GONE as error:
            self._stop_if_stopping(error)
            raise

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """A job that could not report its end because Redis is gone: one line, not RQ's
        traceback (its tasks are re-run once Redis is back; the reconciler finds them)."""
        error = exc_info[1] if len(exc_info) > 1 else None
        if isinstance(error, REDIS_GONE):
            self.log.warning(
                "Worker %s: job %s: Redis unreachable, its end is not reported (%s)",
                self.name,
                job.id,
                error,
            )
            return
        super().handle_exception(job, *exc_info)

    def _pubsub_exception_handler(self, error: Exception, *args: Any) -> None:
        """RQ's pubsub thread says "could not connect ... retrying" every 2 s while Redis is
        gone; once stopping, the one line above has said it."""
        if self._stop_requested and isinstance(error, RedisConnectionError):
            self._say_redis_gone(error)
            time.sleep(2.0)
            return
        super()._pubsub_exception_handler(error, *args)

    def teardown(self) -> None:
        """RQ's (stop the scheduler, deregister, unsubscribe), saying once if Redis is gone."""
        try:
            super().teardown()  # type: ignore[no-untyped-call]  # RQ leaves BaseWorker.teardown unannotated
        except REDIS_GONE as error:
            self._say_redis_gone(error)
            with contextlib.suppress(Exception):
                self.unsubscribe()  # type: ignore[no-untyped-call]  # RQ leaves BaseWorker.unsubscribe unannotated


if TYPE_CHECKING:  # a mixin placed before StopWithoutRedis, checked as the worker with it
    StoppingWorkerBase = StopWithoutRedis
else:
    StoppingWorkerBase = object
