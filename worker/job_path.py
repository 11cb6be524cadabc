"""RQ's bookkeeping around fanout's own jobs, in one transaction before the job and one after.

RQ 2.12's SimpleWorker writes around every job in five round trips: an execution record (a hash
and a per-job sorted set, each with an EXPIRE, plus the started registry) and the worker's state;
the worker's current job, heartbeat and the job's started fields; a job heartbeat after the job;
then a dependents check (WATCH, SMEMBERS) and a transaction that saves the whole job again, adds
a result stream entry, expires the dependents' keys, counts the job on the worker and deletes the
execution record: about 37 commands for a no-op job (`python -m bench.job_costs`).

fanout's own jobs (`OWN_JOBS`) are enqueued only by fanout, with options it sets: nothing
depends on them, nothing repeats them, and nothing reads their RQ result (fanout keeps its own
records). For them:

* before the job, one transaction: the started registry entry (`job_id:execution_id`, as RQ
  writes it), the job's started fields, the job off the intermediate list, and the worker's
  state, current job and heartbeat, and the PERSIST RQ's `Job.perform` sends on its own. RQ's
  execution hash and per-job execution registry are not written: only `Job.get_executions`
  reads them, and neither RQ's cleanup nor fanout calls it;
* the job heartbeat RQ writes after the job is left to the next write;
* after the job, one transaction: the job's status and end with its result TTL, the finished
  registry, the started registry entry removed, the worker's current job and state. No result
  entry, no dependents check;
* the worker's counters (jobs done, working time) are added up here and written at most once a
  second (`worker.bookkeeping`).

Every other job, and every failure, takes RQ's own path. `tests/test_rq_contract.py` pins the
RQ methods this replaces.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from redis.typing import EncodableT
from rq.executions import Execution
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus, _job_stack
from rq.queue import Queue
from rq.registry import StartedJobRegistry
from rq.utils import now, utcformat
from rq.worker import WorkerStatus

from contract import jobs
from worker.redis_gone import WorkerBase


class FanoutJobPath(WorkerBase):
    """A mixin for RQ's SimpleWorker: fanout's own jobs in two transactions of bookkeeping."""

    #: The job functions that take this path: fanout's, by the dotted names it enqueues.
    OWN_JOBS: frozenset[str] = frozenset({jobs.RUN_TASKS, jobs.NOOP})

    #: The job on this path now, if any.
    _own_job_id: str | None = None

    if TYPE_CHECKING:  # worker.bookkeeping's, the class before this one in fanout's worker

        def _state_was_written(self, state: str) -> None: ...

        def _count_success(self, working_s: float) -> None: ...

    def _is_own(self, job: Job) -> bool:
        return job.id == self._own_job_id

    def prepare_execution(self, job: Job) -> Execution:
        """RQ's execution, kept in memory only: its id names the started registry entry."""
        if job.func_name not in self.OWN_JOBS or job.repeats_left is not None:
            self._own_job_id = None
            return super().prepare_execution(job)
        self._own_job_id = job.id
        self.execution = Execution(uuid4().hex, job.id, self.connection, worker_name=self.name)
        return self.execution

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """RQ's `prepare_execution` and `prepare_job_execution` in one transaction."""
        if not self._is_own(job):
            super().prepare_job_execution(job, remove_from_intermediate_queue)
            return
        assert self.execution is not None
        ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipe:
            job.started_job_registry.add_execution(self.execution, pipeline=pipe, ttl=ttl)
            job.prepare_for_execution(self.name, pipeline=pipe)
            pipe.persist(job.key)  # what `Job.perform` does in a round trip of its own
            if remove_from_intermediate_queue:
                pipe.lrem(_intermediate_key(job.origin), 1, job.id)
            self.last_heartbeat = job.last_heartbeat
            assert self.last_heartbeat is not None
            fields: dict[EncodableT, EncodableT] = {
                "state": WorkerStatus.BUSY,
                "current_job": job.id,
                "current_job_working_time": 0,
                "last_heartbeat": utcformat(self.last_heartbeat),
            }
            pipe.hset(self.key, mapping=fields)
            pipe.expire(self.key, ttl)
            pipe.execute()
        job.__class__ = _PersistedJob
        self._state = WorkerStatus.BUSY
        self._state_was_written(WorkerStatus.BUSY)
        self.current_job_working_time = 0
        self.procline(  # type: ignore[no-untyped-call]  # unannotated in RQ
            f"Processing {job.func_name} from {job.origin} since {time.time()}"
        )

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """The job's end time; its heartbeat is written with the job's end."""
        if not self._is_own(job):
            super().handle_execution_ended(job, queue, heartbeat_ttl)
            return
        job.ended_at = now()

    def handle_job_success(
        self, job: Job, queue: Queue, started_job_registry: StartedJobRegistry
    ) -> None:
        """The job's end, in one transaction (RQ's `handle_job_success` without the result,
        the dependents or the counters)."""
        if not self._is_own(job):
            super().handle_job_success(job, queue, started_job_registry)
            return
        assert self.execution is not None and job.started_at and job.ended_at
        result_ttl = job.get_result_ttl(self.default_result_ttl)
        ended = utcformat(job.ended_at)
        with self.connection.pipeline() as pipe:
            if result_ttl == 0:
                pipe.delete(job.key)
            else:
                done: dict[EncodableT, EncodableT] = {
                    "status": JobStatus.FINISHED,
                    "ended_at": ended,
                    "last_heartbeat": ended,
                }
                pipe.hset(job.key, mapping=done)
                if result_ttl > 0:
                    pipe.expire(job.key, result_ttl)
                else:
                    pipe.persist(job.key)
                queue.finished_job_registry.add(job, result_ttl, pipe)
            started_job_registry.remove_execution(self.execution, pipeline=pipe)
            pipe.hdel(self.key, "current_job")
            pipe.hset(self.key, "state", WorkerStatus.IDLE)
            pipe.execute()
        job._status = JobStatus.FINISHED
        self.execution = None
        self._own_job_id = None
        self._state = WorkerStatus.IDLE
        self._state_was_written(WorkerStatus.IDLE)
        working = job.ended_at - job.started_at
        self._count_success(working.total_seconds())
        self.log.info(
            "Successfully completed job %s in %ss on worker %s", job.id, working, self.name
        )


class _PersistedJob(Job):
    """A job whose start transaction made its key persistent: `perform` is RQ's without the
    PERSIST (`Job.perform`, pinned by tests/test_rq_contract.py)."""

    def perform(self) -> Any:
        _job_stack.push(self)
        try:
            self._result = self._execute()
        finally:
            assert self is _job_stack.pop()
        return self._result


def _intermediate_key(origin: str) -> str:
    """RQ's `<queue>:intermediate` key (`Queue.intermediate_queue_key`), without building a
    Queue for it as RQ does for every job."""
    return IntermediateQueue.get_intermediate_queue_key(Queue.redis_queue_namespace_prefix + origin)
