"""The workers page's data: RQ's own view of fanout's workers and queue, plus fanout's heartbeat.

RQ's `last_heartbeat` of an idle worker can be minutes old (it blocks on the queue between
beats), so whether a worker is alive is read from fanout's own once-a-second heartbeat and the
workers' spans (`contract.fleet`); RQ's fields are shown as RQ reports them. A worker RQ still
lists but whose heartbeat has stopped is shown among the gone, never as busy: the workers'
housekeeping removes it from RQ's registry within seconds (`worker.heartbeat.forget_the_dead`).
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

from contract import fleet, keys, replies
from contract.replies import text

#: Workers whose last fanout heartbeat is older than ALIVE_TTL_S but younger than this are
#: listed as recently gone (killed, crashed or stopped).
GONE_WINDOW_S = 600


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


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
    counts = {"queued": queue.count}
    for name in ("started", "deferred", "scheduled", "finished", "failed", "canceled"):
        counts[name] = getattr(queue, f"{name}_job_registry").get_job_count(cleanup=False)
    return counts


def list_workers(redis: Redis, queue: Queue, *, now: float | None = None) -> list[dict[str, Any]]:
    """Every RQ worker registered on fanout's queue, oldest first."""
    now = time.time() if now is None else now
    beats = {
        text(name): score
        for name, score in replies.scored(
            redis.zrange(keys.alive_workers_key(), 0, -1, withscores=True)
        )
    }
    rows = []
    for worker in Worker.all(queue=queue, serializer=JSONSerializer):
        beat = beats.get(worker.name)
        if not fleet.is_fresh(beat, now):
            continue  # stopped or killed: listed among the gone
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
                "alive": True,
            }
        )
    rows.sort(key=lambda row: (row["born_at"] or 0, row["name"]))
    return rows


def gone_workers(
    lives: list[fleet.WorkerLife], *, now: float | None = None
) -> list[dict[str, Any]]:
    """Workers that stopped or were killed in the last GONE_WINDOW_S, most recent first."""
    now = time.time() if now is None else now
    gone = [life for life in lives if life.gone and life.span.end >= now - GONE_WINDOW_S]
    gone.sort(key=lambda life: life.span.end, reverse=True)
    return [
        {
            "name": life.span.name,
            "host": life.span.host,
            "joined_at": life.span.start,
            "left_at": life.span.end,
            "heartbeat_at": life.last_beat,
            "how": "stopped" if life.left_cleanly else "stopped beating (killed?)",
        }
        for life in gone
    ]


def workers_overview(redis: Redis, queue: Queue, *, now: float | None = None) -> dict[str, Any]:
    """Everything the workers page shows except the time series (see producer.stats)."""
    now = time.time() if now is None else now
    workers = list_workers(redis, queue, now=now)
    lives = fleet.read_lives(redis, now=now)
    return {
        "now": now,
        "queue": {"name": queue.name, **queue_counts(queue)},
        "workers": workers,
        "live": sum(1 for life in lives if not life.gone),
        "gone": gone_workers(lives, now=now),
    }
