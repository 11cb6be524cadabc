"""The workers page's data: RQ's own view of fanout's workers and queue, plus fanout's heartbeat.

RQ's `last_heartbeat` of an idle worker can be minutes old (it blocks on the queue between
beats), so whether a worker is alive is read from fanout's own once-a-second heartbeat
(`keys.alive_workers_key()`); RQ's fields are shown as RQ reports them.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import DeserializationError, NoSuchJobError
from rq.job import Job
from rq.serializers import JSONSerializer

from contract import keys
from producer.stats import live_worker_count

#: Workers whose last fanout heartbeat is older than ALIVE_TTL_S but younger than this are
#: listed as recently gone (killed, crashed or stopped).
GONE_WINDOW_S = 600


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _current_job(redis: Redis, job_id: str | None) -> dict[str, Any] | None:
    """The job a worker is busy with, and the run it belongs to (its first argument)."""
    if not job_id:
        return None
    try:
        job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    except (NoSuchJobError, DeserializationError, ValueError):  # gone, or not fanout's JSON
        return {"id": job_id, "description": None, "run_id": None}
    first = job.args[0] if job.args else None
    run_id = first if isinstance(first, str) and keys.is_id(first) else None  # a link to it
    return {"id": job_id, "description": job.description, "run_id": run_id}


def queue_counts(queue: Queue) -> dict[str, int]:
    """Jobs waiting and in each registry. Read without RQ's cleanup: a reader must not move jobs
    (the workers' reconciler relies on the started registry as it is)."""
    registries = {
        "started": queue.started_job_registry,
        "deferred": queue.deferred_job_registry,
        "scheduled": queue.scheduled_job_registry,
        "finished": queue.finished_job_registry,
        "failed": queue.failed_job_registry,
        "canceled": queue.canceled_job_registry,
    }
    counts = {"queued": queue.count}
    counts.update({name: reg.get_job_count(cleanup=False) for name, reg in registries.items()})
    return counts


def list_workers(redis: Redis, queue: Queue, *, now: float | None = None) -> list[dict[str, Any]]:
    """Every RQ worker registered on fanout's queue, oldest first."""
    now = time.time() if now is None else now
    beats = dict(redis.zrange(keys.alive_workers_key(), 0, -1, withscores=True))
    beats = {_text(name): score for name, score in beats.items()}
    rows = []
    for worker in Worker.all(queue=queue, serializer=JSONSerializer):
        beat = beats.get(worker.name)
        rows.append(
            {
                "name": worker.name,
                "host": worker.hostname,
                "pid": worker.pid,
                "state": worker.get_state(),
                "current_job": _current_job(redis, worker.get_current_job_id()),
                "jobs_done": worker.successful_job_count,
                "jobs_failed": worker.failed_job_count,
                "working_s": worker.total_working_time,
                "born_at": _epoch(worker.birth_date),
                "rq_heartbeat_at": _epoch(worker.last_heartbeat),
                "heartbeat_at": beat,
                "alive": beat is not None and beat >= now - keys.ALIVE_TTL_S,
            }
        )
    rows.sort(key=lambda row: (row["born_at"] or 0, row["name"]))
    return rows


def gone_workers(redis: Redis, *, now: float | None = None) -> list[dict[str, Any]]:
    """Workers that stopped beating in the last GONE_WINDOW_S, most recent first."""
    now = time.time() if now is None else now
    stale = redis.zrevrangebyscore(
        keys.alive_workers_key(),
        now - keys.ALIVE_TTL_S,
        now - GONE_WINDOW_S,
        withscores=True,
    )
    return [{"name": _text(name), "heartbeat_at": score} for name, score in stale]


def workers_overview(redis: Redis, queue: Queue, *, now: float | None = None) -> dict[str, Any]:
    """Everything the workers page shows except the time series (see producer.stats)."""
    now = time.time() if now is None else now
    workers = list_workers(redis, queue, now=now)
    return {
        "now": now,
        "queue": {"name": queue.name, **queue_counts(queue)},
        "workers": workers,
        "live": live_worker_count(redis, now=now),
        "gone": gone_workers(redis, now=now),
    }
