"""The JSON API: submit runs and comparisons, read them back, watch the workers and throughput.

Not cookie-authenticated, so exempt from CSRF; with FANOUT_API_TOKEN set every call needs
`Authorization: Bearer <token>` (see web.security). Errors are `{"error", "field"}`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from contract import fleet
from contract.records import RunSpec
from producer import stats
from producer.proctree import read_trees
from producer.reader import RunNotFound, list_runs, load_comparison, load_run
from producer.submit import (
    IdempotencyConflict,
    IdempotencyInProgress,
    submit_comparison,
    submit_comparison_once,
    submit_run,
    submit_run_once,
)
from producer.workers import workers_overview
from web import responses as r
from web.api_common import accepted, require_token
from web.bodies import SUBMISSION
from web.clients import get_queue, get_redis, get_settings
from web.errors import ApiError
from web.metrics import count_submission
from web.operations import POLL, Reply, declare, header, ok
from web.queries import ComparisonQuery, RunQuery, RunsQuery, StatsQuery
from web.run_cache import Variant, etag, get_run_cache, run_version

bp = Blueprint("api", __name__, url_prefix="/api")
bp.before_request(require_token)


#: What an Idempotency-Key may be: a UUID, a hash, any short token of visible ASCII.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
IDEMPOTENCY_KEY = ("Any unique token (a UUID): a retry with the same key and batch gets the first "
                   "request's run or comparison, created once")  # fmt: skip
REPLAYED = {"Location": "", "Idempotent-Replayed": "true when the Idempotency-Key's run (or "
            "comparison) existed already"}  # fmt: skip
FINISHED_ETAG = "Weak, on finished runs only: send it back as If-None-Match for a 304"


def _idempotency_key() -> str | None:
    """The client's Idempotency-Key header: a retried submission gets the first one's run."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(400, "Idempotency-Key must be 1 to 200 visible ASCII characters")
    return key


@bp.post("/runs")
@declare(
    "submitRun",
    "Submit a batch as a run, or with compare=true as a comparison",
    body=SUBMISSION,
    headers=(header("Idempotency-Key", IDEMPOTENCY_KEY, _IDEMPOTENCY_KEY.pattern),),
    replies={202: Reply(POLL, (r.RunAccepted, r.ComparisonAccepted), headers=REPLAYED)},
    errors=(409, 422),
)
def submit(body: Any) -> Response:
    settings, redis, queue, key = get_settings(), get_redis(), get_queue(), _idempotency_key()
    spec = RunSpec(tuple(body.urls), body.strategy, body.concurrency, body.workload)
    strategies, created = body.strategies, True
    try:
        if body.compare and key is None:
            run_id, run_ids = submit_comparison(
                redis, queue, spec, settings, strategies, repeat=body.repeat
            )
        elif body.compare and key is not None:
            run_id, run_ids, created = submit_comparison_once(
                redis, queue, spec, settings, strategies, key, repeat=body.repeat
            )
        elif key is None:
            run_id = submit_run(redis, queue, spec, settings)
        else:
            run_id, created = submit_run_once(redis, queue, spec, settings, key)
    except IdempotencyConflict as exc:
        raise ApiError(422, str(exc), "Idempotency-Key") from None
    except IdempotencyInProgress as exc:
        raise ApiError(409, str(exc), "Idempotency-Key") from None
    if not body.compare:
        if created:
            count_submission("run", 1)
        answer: dict[str, Any] = {"id": run_id, "url": url_for("pages.run", run_id=run_id)}
        response = accepted(answer, url_for("api.get_run", run_id=run_id))
    else:  # `run_id` is the comparison's
        if created:
            count_submission("comparison", len(run_ids))
        answer = {
            "id": run_id,
            "url": url_for("pages.compare", comparison_id=run_id),
            "runs": [  # in execution order: each strategy in turn, `repeat` times
                {
                    "id": one,
                    "strategy": strategies[i % len(strategies)].value,
                    "url": url_for("pages.run", run_id=one),
                }
                for i, one in enumerate(run_ids)
            ],
        }
        response = accepted(answer, url_for("api.get_comparison", comparison_id=run_id))
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/runs")
@declare("listRuns", "Runs, newest first, without their tasks", query=RunsQuery,
         replies=ok("The runs", r.RunList))  # fmt: skip
def get_runs(query: RunsQuery) -> Response:
    runs = list_runs(get_redis(), limit=query.limit, offset=query.offset)
    return jsonify({"runs": runs, "limit": query.limit, "offset": query.offset})


def _load_run(run_id: str, variant: Variant) -> dict[str, Any]:
    include_tasks, since, offset, limit = variant
    try:
        record = load_run(
            get_redis(),
            run_id,
            include_tasks=include_tasks,
            since=since,
            offset=offset,
            limit=limit,
        )
    except RunNotFound:
        raise ApiError(404, f"no run {run_id!r} (never submitted, or expired)") from None
    if include_tasks and since is None:
        record["limit"] = limit
        following = offset + limit
        record["next_offset"] = following if following < record["total"] else None
    return record


@bp.get("/runs/<id:run_id>")
@declare(
    "getRun",
    "One run: spec, state, counts, summary, tasks and running tasks",
    query=RunQuery,
    headers=(header("If-None-Match", "A finished run's ETag from an earlier answer"),),
    replies={
        200: Reply("The run", (r.Run,), headers={"ETag": FINISHED_ETAG}),
        304: Reply("The finished run is unchanged since that ETag"),
    },
)
def get_run(run_id: str, query: RunQuery) -> Response:
    """The reader's run record, plus `now` (the server's clock, to grow running bars by).

    A finished run is served from this process's cache while one HMGET says it has not changed
    (see web.run_cache), with a weak ETag: a matching If-None-Match is a 304.
    """
    variant: Variant = (query.tasks, query.since, query.offset, query.limit)
    version = run_version(get_redis(), run_id)
    if not version.finished:  # queued, running or unknown: read fresh (404 when unknown)
        return jsonify(_load_run(run_id, variant) | {"now": time.time()})
    tag = etag(run_id, version, variant)
    if request.if_none_match.contains_weak(tag):
        response = Response(status=304)
    else:
        cache = get_run_cache()
        record = cache.get(run_id, variant, version)
        if record is None:
            record = _load_run(run_id, variant)
            if not version.matches(record):  # changed since the HMGET: this body has no tag
                return jsonify(record | {"now": time.time()})
            cache.put(run_id, variant, version, record)
        response = jsonify(record | {"now": time.time()})
    response.set_etag(tag, weak=True)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/compare/<id:comparison_id>")
@declare("getComparison", "One comparison: the same batch under each strategy",
         query=ComparisonQuery, replies=ok("The comparison", r.Comparison))  # fmt: skip
def get_comparison(comparison_id: str, query: ComparisonQuery) -> Response:
    try:
        comparison = load_comparison(get_redis(), comparison_id, include_tasks=query.tasks)
    except RunNotFound:
        raise ApiError(
            404, f"no comparison {comparison_id!r} (never submitted, or expired)"
        ) from None
    return jsonify(comparison | {"now": time.time()})


@bp.get("/workers")
@declare("getWorkers", "RQ workers on fanout's queue, queue depth and registry counts",
         replies=ok("Workers and queue", r.Workers))  # fmt: skip
def get_workers() -> Response:
    return jsonify(workers_overview(get_redis(), get_queue()))


@bp.get("/workers/tree")
@declare("getWorkerTree", "Each live host's process tree: supervisor, workers, their children",
         replies=ok("The trees, published each second", r.ProcessTree))  # fmt: skip
def get_worker_tree() -> Response:
    """Each live host's process tree, as its supervisor published it (`fanout ps`'s data)."""
    return jsonify(read_trees(get_redis()))


@bp.get("/stats")
@declare("getStats", "Tasks ended per second and live workers per second", query=StatsQuery,
         replies=ok("The series", r.Stats))  # fmt: skip
def get_stats(query: StatsQuery) -> Response:
    redis = get_redis()
    series = stats.throughput_series(redis, window_s=query.window)
    return jsonify(series | {"live_workers": fleet.count_alive(redis)})
