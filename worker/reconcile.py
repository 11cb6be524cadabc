"""Recovers the tasks of jobs whose worker died, or that RQ failed: one retry, then `lost`.

RQ alone notices a dead worker only when its heartbeat key expires (~90 s) and its maintenance
pass runs (every 10 minutes), and `on_failure` callbacks do not run when a process is killed. So
every fanout worker beats into a sorted set each second, and every few seconds each worker looks for
started jobs whose worker's last beat is older than `keys.ALIVE_TTL_S`, and for failed jobs. The
tasks of such a job that have no terminal record are enqueued once more (attempt 2); at attempt 2
they are marked `lost`. Records are first-writer-wins, so a task that a zombie finishes anyway is
never counted twice, and one reconciler claims each job (SET NX), so none is recovered twice.

A job can also be stranded before it starts: RQ moves it into `<queue>:intermediate` and only
then registers it as started, so a worker killed in between leaves it in neither place, and RQ's
maintenance fails it 11+ minutes later. A job seen there, not started, on passes at least
STRANDED_AFTER_S apart, is put back at the head of the queue as the same attempt: it never ran.

Bound: a task of a killed worker reaches a terminal state within ALIVE_TTL_S + RECONCILE_EVERY_S
plus the retry's own run time; a stranded job is queued again within STRANDED_AFTER_S +
RECONCILE_EVERY_S.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

from contract import fleet, jobs, keys, replies, scripts
from contract.plan import RunTasks
from contract.records import TaskRecord
from contract.states import TaskState
from worker.task_writer import TaskWriter

log = logging.getLogger(__name__)

RECONCILE_EVERY_S = 2.0
MAX_ATTEMPTS = 2
#: A live worker registers a dequeued job as started within milliseconds; 5 s means it died.
STRANDED_AFTER_S = 5.0


@dataclass
class ReconcileReport:
    retried: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    requeued: list[str] = field(default_factory=list)


def reconcile(redis: Redis, queue: Queue, writer: TaskWriter) -> ReconcileReport:
    """One pass over the intermediate list and the started and failed registries."""
    report = ReconcileReport(requeued=requeue_stranded(redis, queue))
    for job in _abandoned(redis, queue):
        _recover(redis, queue, writer, job, report, reason="its worker died")
    for job in _failed(redis, queue):
        _recover(redis, queue, writer, job, report, reason="the job failed")
    return report


def requeue_stranded(redis: Redis, queue: Queue, *, now: float | None = None) -> list[str]:
    """Jobs dequeued but never started, seen so on passes STRANDED_AFTER_S apart: queued again."""
    now = time.time() if now is None else now
    started = StartedJobRegistry(queue=queue).key
    requeued: list[str] = []
    requeue = None
    for raw in redis.lrange(queue.intermediate_queue_key, 0, -1):
        job_id = replies.text(raw)
        if keys.parse_job_id(job_id) is None or redis.zscore(started, job_id) is not None:
            continue
        marker = keys.stranded_key(job_id)
        if redis.set(marker, now, nx=True, ex=keys.HISTORY_TTL_S):
            continue  # first sighting: a live worker may be about to start it
        if now - float(redis.get(marker) or now) < STRANDED_AFTER_S:
            continue
        keys_ = [queue.intermediate_queue_key, queue.key, started]
        requeue = requeue or scripts.register(redis, "worker", "requeue_stranded")
        if requeue(keys=keys_, args=[job_id]):
            redis.delete(marker)
            requeued.append(job_id)
            log.warning("queued %s again: its worker stopped before starting it", job_id)
    return requeued


def _fetch_jobs(redis: Redis, job_ids: list[str]) -> list[Job]:
    """fanout's jobs among `job_ids` that still exist, in one round trip."""
    ours = [job_id for job_id in job_ids if keys.parse_job_id(job_id) is not None]
    return [job for job in Job.fetch_many(ours, redis, JSONSerializer) if job is not None]


def _abandoned(redis: Redis, queue: Queue) -> list[Job]:
    registry = StartedJobRegistry(queue=queue)
    abandoned = []
    for job in _fetch_jobs(redis, registry.get_job_ids(cleanup=False)):
        if job.get_status(refresh=False) != JobStatus.STARTED:
            continue
        if job.worker_name and not fleet.is_alive(redis, job.worker_name):
            abandoned.append(job)
    return abandoned


def _failed(redis: Redis, queue: Queue) -> list[Job]:
    """Failed fanout jobs no reconciler has claimed yet (checked in one round trip)."""
    registry = FailedJobRegistry(queue=queue)
    job_ids = [i for i in registry.get_job_ids(cleanup=False) if keys.parse_job_id(i)]
    if not job_ids:
        return []
    pipe = redis.pipeline(transaction=False)
    for job_id in job_ids:
        pipe.exists(keys.handled_key(job_id))
    unclaimed = [
        job_id for job_id, claimed in zip(job_ids, pipe.execute(), strict=True) if not claimed
    ]
    return _fetch_jobs(redis, unclaimed)


def _recover(
    redis: Redis,
    queue: Queue,
    writer: TaskWriter,
    job: Job,
    report: ReconcileReport,
    *,
    reason: str,
) -> None:
    if not redis.set(keys.handled_key(job.id), reason, nx=True, ex=writer.ttl_s):
        return  # another reconciler took it
    _forget_started(redis, queue, job.id)
    try:
        message = RunTasks.from_job(job.args, job.kwargs)
    except ValueError as exc:
        log.error("job %s is not a run_tasks job fanout can recover: %s", job.id, exc)
        return
    run_id = message.run_id
    ended = {int(i) for i in redis.hkeys(keys.tasks_key(run_id))}
    missing = [[index, url] for index, url in message.tasks if int(index) not in ended]
    if not missing:
        return
    attempt = message.attempt
    if attempt < MAX_ATTEMPTS:
        retry = replace(message, tasks=missing, attempt=attempt + 1)
        queue.enqueue(
            jobs.RUN_TASKS,
            args=retry.to_args(),
            job_id=retry.job_id,
            job_timeout=job.timeout,
            result_ttl=jobs.RESULT_TTL_S,
            failure_ttl=writer.ttl_s,
            meta=job.meta or None,
        )
        report.retried[run_id] = report.retried.get(run_id, 0) + len(missing)
        log.warning("retrying %d tasks of %s: %s", len(missing), job.id, reason)
        return
    records = [
        TaskRecord(
            index=int(index),
            url=url,
            state=TaskState.LOST,
            error=f"lost: {reason} at attempt {attempt} (job {job.id}, worker {job.worker_name})",
            worker=job.worker_name,
            attempt=attempt,
        )
        for index, url in missing
    ]
    writer.finish(run_id, records)
    report.lost[run_id] = report.lost.get(run_id, 0) + len(records)
    log.warning("marked %d tasks of %s lost: %s", len(records), job.id, reason)


def _forget_started(redis: Redis, queue: Queue, job_id: str) -> None:
    """A dead worker's job leaves the started registry now: RQ would keep it there until the
    worker's key expires and a maintenance pass runs (minutes), and pages would count it as
    being worked on. Entries are `job_id:execution_id`."""
    registry = StartedJobRegistry(queue=queue)
    entries = [
        entry
        for entry in replies.members(redis.zrange(registry.key, 0, -1))
        if replies.text(entry).partition(":")[0] == job_id
    ]
    if entries:
        redis.zrem(registry.key, *entries)
