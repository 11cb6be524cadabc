"""The worker process: RQ's SimpleWorker (or fork Worker) plus fanout's heartbeat and reconciler.

`SimpleWorker` is the default: it runs jobs in the worker process itself, so the job modules,
`requests` and the HTTP sessions are imported and warmed once, and a job costs a few milliseconds
instead of a fork (docs/architecture.md, "The worker class"). RQ's `WorkerPool` supervises it:
a worker that dies is respawned, so a killed worker does not take the local stack down;
`worker.supervisor` sizes that pool to the worker target.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker

import worker.jobs  # noqa: F401 - preloaded before any fork: the whole point of a warm worker
from contract import connection, keys
from contract.parent_death import die_with_parent
from contract.settings import Settings
from worker import identity, pools
from worker.bookkeeping import OncePerSecondBookkeeping
from worker.heartbeat import Heartbeat
from worker.job_path import FanoutJobPath
from worker.redis_gone import REDIS_GONE, StoppingWorkerBase, StopWithoutRedis
from worker.scheduler import FanoutScheduler
from worker.task_writer import TaskWriter

log = logging.getLogger(__name__)

#: What a supervisor sends a worker it no longer needs (see `_FanoutMixin._retire`).
RETIRE_SIGNAL = signal.SIGUSR1


class _FanoutMixin(StoppingWorkerBase):
    """Names the executor, keeps the alive key fresh, runs the reconciler, and stops only at
    safe points of the loop."""

    #: Longest one blocking dequeue waits, hence how long an idle worker takes to see a stop.
    DEQUEUE_WAIT_S = 1

    _stop_requested: bool
    scheduler: RQScheduler | None
    #: Set when the worker deregisters from RQ; then it is never put back (`_rejoin_registry`).
    _leaving = False
    _registry_lock: threading.Lock

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._registry_lock = threading.Lock()
        #: Joins the fleet at RQ's birth (`register_birth`), beats in its thread until the stop.
        self._heartbeat: Heartbeat | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._heartbeat_stop = threading.Event()

    def _install_signal_handlers(self) -> None:
        """RQ's SIGINT/SIGTERM handlers, plus RETIRE_SIGNAL: a supervisor shrinking its pool or
        stopping, or the supervisor's death (the worker's parent-death signal)."""
        super()._install_signal_handlers()  # type: ignore[no-untyped-call]  # unannotated in RQ
        signal.signal(RETIRE_SIGNAL, self._retire)

    def _retire(self, signum: int, frame: object) -> None:
        """The warm shutdown of a stop signal, without arming RQ's cold shutdown.

        RQ's first SIGINT/SIGTERM makes the next one (more than a second later) a cold stop that
        abandons the job in hand. A worker retired with SIGINT and still busy would then be cut
        short by the stack's own stop (`fanout up`'s Ctrl-C reaches the whole process group), so
        retiring uses its own signal and leaves SIGINT/SIGTERM as they were: still a warm stop.
        """
        supervisor = multiprocessing.parent_process()
        if supervisor is not None and supervisor.pid != os.getppid():  # its parent-death signal
            why = "its supervisor is gone: stopping after the job in hand"
        else:
            why = "retired by its supervisor"
        self.log.info("Worker %s: %s", self.name, why)
        self._shutdown()

    def _shutdown(self) -> None:
        """Warm shutdown without raising from the signal handler.

        Stock RQ raises StopRequested whenever the worker is not BUSY. A signal that lands after
        BLMOVE took a job into `<queue>:intermediate` but before the job is registered as started
        strands it there: RQ's maintenance fails it 11+ minutes later (rq/rq#2236; 4 of 40
        SIGTERMs measured here). Setting the flag defers the stop to the loop's next check.
        """
        self._stop_requested = True
        if self.scheduler:
            self.stop_scheduler()  # type: ignore[no-untyped-call]  # unannotated in RQ

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """RQ's (`BaseWorker._start_scheduler`), with a scheduler that dies with this worker
        (`worker.scheduler`). `tests/test_orphans.py` pins RQ's source this copies."""
        scheduler = FanoutScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()  # type: ignore[no-untyped-call]  # unannotated in RQ
        if scheduler.acquired_locks:
            if burst:
                try:
                    scheduler.register_birth()
                    scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]  # unannotated in RQ
                finally:
                    scheduler.release_locks()  # type: ignore[no-untyped-call]  # unannotated in RQ
                    scheduler.register_death()
            else:
                scheduler.start()

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        """RQ's dequeue, in waits of DEQUEUE_WAIT_S, so a deferred stop is seen within one."""
        if timeout is None or max_idle_time is not None:  # burst, or RQ's own idle limit
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        while not self._stop_requested:
            # With max_idle_time equal to the wait, RQ returns None after one empty wait.
            try:
                result: tuple[Job, Queue] | None = super().dequeue_job_and_maintain_ttl(
                    self.DEQUEUE_WAIT_S, self.DEQUEUE_WAIT_S
                )
            except REDIS_GONE as error:  # RQ retries inside; its first write is outside that
                self._stop_if_stopping(error)
                raise
            if result is not None:
                return result  # the loop runs it, then sees the flag: the job in hand finishes
        self.log.info("Worker %s: stopping on request", self.name)
        raise StopRequested  # work() ends its loop on this, outside any Redis call

    def work(self, *args: Any, **kwargs: Any) -> bool:
        identity.set_worker_name(self.name)
        # A supervisor's fork (None if alone): if the supervisor dies, a warm stop; the job in
        # hand ends and is reported, then the worker exits instead of running on unsupervised.
        supervisor = multiprocessing.parent_process()
        if supervisor is not None and supervisor.pid is not None:
            die_with_parent(RETIRE_SIGNAL, supervisor.pid)
        self._heartbeat = Heartbeat(
            self.connection,
            self.name,
            fanout_queue(self.connection),
            TaskWriter(self.connection, Settings.from_env().ttl_s),
            rejoin=self._rejoin_registry,
        )
        try:
            return super().work(*args, **kwargs)
        finally:
            pools.shutdown()
            self._heartbeat_stop.set()
            if self._heartbeat_thread is not None:  # joined the fleet at RQ's birth
                self._heartbeat_thread.join(timeout=5)
                with contextlib.suppress(Exception):
                    self._heartbeat.leave()

    def register_birth(self) -> None:
        """RQ's birth, then the fleet's: a worker is counted live only once RQ's registry lists
        it, so the Workers page's rows (RQ's) and its live count (fanout's) agree."""
        super().register_birth()  # type: ignore[no-untyped-call]  # unannotated in RQ
        if self._heartbeat is None:
            return  # a worker driven without work() (tests): no fleet to join
        self._heartbeat.join()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat.run,
            args=(self._heartbeat_stop,),
            name="fanout-heartbeat",
            daemon=True,
        )
        self._heartbeat_thread.start()

    def _rejoin_registry(self) -> bool:
        """Back into RQ's worker registry, with the fields RQ's birth wrote and the state and job
        in hand (RQ's job counters restart from zero). In the heartbeat thread; the lock keeps
        it from undoing `register_death`. False before RQ's birth and once leaving."""
        with self._registry_lock:
            if self._leaving or self.birth_date is None:
                return False
            fields = dict(self.serialize())
            fields["state"] = self.get_state()
            execution = getattr(self, "execution", None)
            if fields["state"] == "busy" and execution is not None:
                fields["current_job"] = execution.job_id
            with self.connection.pipeline() as pipe:
                pipe.hset(self.key, mapping=fields)
                worker_registration.register(self, pipe)
                pipe.expire(self.key, self.worker_ttl + 60)
                pipe.execute()
            return True

    def register_death(self) -> None:
        with self._registry_lock:
            self._leaving = True
            super().register_death()  # type: ignore[no-untyped-call]  # unannotated in RQ


class FanoutSimpleWorker(
    OncePerSecondBookkeeping, _FanoutMixin, FanoutJobPath, StopWithoutRedis, SimpleWorker
):
    """Runs each job in the worker process itself (no fork per job); fanout's own jobs take
    two transactions of RQ bookkeeping (`worker.job_path`)."""


class FanoutForkWorker(_FanoutMixin, StopWithoutRedis, Worker):
    """RQ's default model: a fresh work-horse process per job, which dies with the worker."""

    _forked_by = 0

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        self._forked_by = os.getpid()  # in the worker's main thread, where RQ forks
        super().fork_work_horse(job, queue)

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        """In the work-horse: a SIGKILLed worker takes it along (RQ puts it in a group of its
        own, which no group signal of the worker's reaches)."""
        die_with_parent(signal.SIGKILL, self._forked_by)
        super().main_work_horse(job, queue)

    def perform_job(self, *args: Any, **kwargs: Any) -> bool:
        """Runs in the work-horse, which ends with os._exit: its pools go with the job."""
        try:
            return super().perform_job(*args, **kwargs)
        finally:
            pools.shutdown()


WORKER_CLASSES: dict[str, type[BaseWorker]] = {
    "simple": FanoutSimpleWorker,
    "fork": FanoutForkWorker,
}


def connect(settings: Settings) -> Redis:
    return connection.connect(settings.redis_url)


def fanout_queue(redis: Redis) -> Queue:
    """Built here, with the JSON serializer, for anything the worker enqueues (retries): the
    queues RQ's WorkerPool builds for its workers carry no serializer."""
    return Queue(keys.QUEUE_NAME, connection=redis, serializer=JSONSerializer)


def run_worker(
    settings: Settings,
    *,
    worker_class: str = "simple",
    burst: bool = False,
    logging_level: str = "INFO",
) -> None:
    """Run one worker, unsupervised, until stopped (or, in burst mode, the queue is empty).
    `fanout worker` supervises a pool of them with `worker.supervisor`."""
    redis = connect(settings)
    cls = WORKER_CLASSES[worker_class]
    worker = cls([fanout_queue(redis)], connection=redis, serializer=JSONSerializer)
    worker.work(burst=burst, logging_level=logging_level, with_scheduler=False)


def wait_for_http(urls: list[str], timeout_s: float = 60.0) -> None:
    """Wait until each URL answers (`FANOUT_WAIT_FOR`): `fanout up` starts its processes together,
    and a worker taking a queued task before the local origin listens records a false
    `refused` (compose says the same with `depends_on: origin: service_healthy`)."""
    for url in urls:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    log.warning("%s still does not answer after %.0f s: starting", url, timeout_s)
                    break
                time.sleep(0.2)


def wait_for_redis(settings: Settings, timeout_s: float = 60.0) -> None:
    """Services start together; a worker waits for Redis instead of crashing the stack."""
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        try:
            connect(settings).ping()
            return
        except RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
