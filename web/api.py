"""The JSON API: submit runs and comparisons, read them back, watch the workers and throughput.

Not cookie-authenticated, so exempt from CSRF; with FANOUT_API_TOKEN set every call needs
`Authorization: Bearer <token>` (see web.security). Errors are `{"error", "field"}`.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from contract.states import Strategy
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
from producer.validation import build_spec, check_choice
from producer.workers import workers_overview
from web.clients import get_queue, get_redis, get_settings
from web.errors import ApiError, json_error
from web.metrics import count_submission
from web.openapi_schemas import URL_PATTERN
from web.repeat import check_repeat
from web.run_cache import Variant, etag, get_run_cache, run_version
from web.security import token_problem

bp = Blueprint("api", __name__, url_prefix="/api")

URL_PATTERN_RE = re.compile(URL_PATTERN)

_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}


@bp.before_request
def require_token() -> Response | None:
    problem = token_problem()
    if problem is None:
        return None
    response = json_error(401, problem)
    response.headers["WWW-Authenticate"] = 'Bearer realm="fanout"'
    return response


def _flag(name: str, default: bool) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ApiError(400, f"{name} must be true or false (got {raw!r})", name)


def _whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and low <= int(raw) <= high):
        raise ApiError(400, f"{name} must be a whole number from {low} to {high}", name)
    return int(raw)


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "send the submission as JSON (Content-Type: application/json)")
    try:
        data = json.loads(request.get_data())
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _check_types(data: dict[str, Any]) -> None:
    """The API takes JSON types as the OpenAPI document states them: `urls` a list (the form's
    one-URL-a-line string is not accepted here), `concurrency` a number, `compare` a boolean."""
    if "urls" not in data:
        raise ApiError(400, "urls is required: a list of http(s) URLs", "urls")
    if not isinstance(data["urls"], list):
        raise ApiError(400, "urls must be a list of http(s) URLs", "urls")
    concurrency = data.get("concurrency", 8)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int | float):
        raise ApiError(400, "concurrency must be an integer", "concurrency")
    if not isinstance(data.get("compare", False), bool):
        raise ApiError(400, "compare must be true or false", "compare")


def _check_url_shapes(urls: list[str]) -> None:
    """The API takes exactly the URLs its OpenAPI document describes (see URL_PATTERN), a
    little stricter than the form, so fuzzers and clients can trust the document."""
    for line, url in enumerate(urls, start=1):
        if not URL_PATTERN_RE.fullmatch(url):
            raise ApiError(
                400,
                f"line {line}: {url!r} is not an http(s) URL of the form "
                "http(s)://host[:port][/path]: a host name or IPv4 address, no spaces",
                "urls",
            )


def _strategies(data: dict[str, Any]) -> list[Strategy]:
    if "strategies" not in data:
        return list(Strategy)
    raw = data["strategies"]
    if not isinstance(raw, list) or not raw:
        raise ApiError(400, "strategies must be a non-empty list of strategies", "strategies")
    chosen = [check_choice(Strategy, "strategies", value) for value in raw]
    if len(set(chosen)) != len(chosen):
        raise ApiError(400, "strategies must not repeat a strategy", "strategies")
    return chosen


#: What an Idempotency-Key may be: a UUID, a hash, any short token of visible ASCII.
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")


def _idempotency_key() -> str | None:
    """The client's Idempotency-Key header: a retried submission gets the first one's run."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(400, "Idempotency-Key must be 1 to 200 visible ASCII characters")
    return key


def _accepted(body: dict[str, Any], location: str) -> Response:
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = location
    return response


@bp.post("/runs")
def submit() -> Response:
    """202 with the run's id; `"compare": true` submits the batch under every strategy."""
    data = _json_body()
    _check_types(data)
    compare = data.get("compare", False)
    strategies = _strategies(data)
    repeat = check_repeat(data.get("repeat", 1))
    settings = get_settings()
    spec = build_spec(data, settings, strategy_required=not compare)
    _check_url_shapes(data["urls"])  # as sent: build_spec strips them
    redis, queue = get_redis(), get_queue()
    idempotency_key = _idempotency_key()
    if not compare:
        created = True
        if idempotency_key is None:
            run_id = submit_run(redis, queue, spec, settings)
        else:
            try:
                run_id, created = submit_run_once(redis, queue, spec, settings, idempotency_key)
            except IdempotencyConflict as exc:
                raise ApiError(422, str(exc), "Idempotency-Key") from None
        if created:
            count_submission("run", 1)
        body = {"id": run_id, "url": url_for("pages.run", run_id=run_id)}
        response = _accepted(body, url_for("api.get_run", run_id=run_id))
        if not created:
            response.headers["Idempotent-Replayed"] = "true"
        return response
    created = True
    if idempotency_key is None:
        comparison_id, run_ids = submit_comparison(
            redis, queue, spec, settings, strategies, repeat=repeat
        )
    else:
        try:
            comparison_id, run_ids, created = submit_comparison_once(
                redis, queue, spec, settings, strategies, idempotency_key, repeat=repeat
            )
        except IdempotencyConflict as exc:
            raise ApiError(422, str(exc), "Idempotency-Key") from None
        except IdempotencyInProgress as exc:
            raise ApiError(409, str(exc), "Idempotency-Key") from None
    if created:
        count_submission("comparison", len(run_ids))
    body = {
        "id": comparison_id,
        "url": url_for("pages.compare", comparison_id=comparison_id),
        "runs": [  # in execution order: each strategy in turn, `repeat` times
            {
                "id": run_id,
                "strategy": strategies[i % len(strategies)].value,
                "url": url_for("pages.run", run_id=run_id),
            }
            for i, run_id in enumerate(run_ids)
        ],
    }
    response = _accepted(body, url_for("api.get_comparison", comparison_id=comparison_id))
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/runs")
def get_runs() -> Response:
    """Newest first, without their tasks."""
    limit = _whole("limit", 50, 1, 200)
    offset = _whole("offset", 0, 0, 1_000_000)
    return jsonify(
        {
            "runs": list_runs(get_redis(), limit=limit, offset=offset),
            "limit": limit,
            "offset": offset,
        }
    )


#: Tasks one GET returns by default, and at most: `?offset=` pages through bigger runs.
TASKS_PAGE = 5000
#: The largest task index a query may name (the most URLs a run can hold, with room).
MAX_INDEX = 10_000_000
MAX_TASKS_PAGE = 20_000


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
def get_run(run_id: str) -> Response:
    """The reader's run record, plus `now` (the server's clock, to grow running bars by).

    A finished run is served from this process's cache while one HMGET says it has not changed
    (see web.run_cache), with a weak ETag: a matching If-None-Match is a 304.
    """
    include_tasks = _flag("tasks", True)
    since = _whole("since", -1, 0, MAX_INDEX) if "since" in request.args else None
    offset = _whole("offset", 0, 0, MAX_INDEX)
    limit = _whole("limit", TASKS_PAGE, 1, MAX_TASKS_PAGE)
    variant: Variant = (include_tasks, since, offset, limit)
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
def get_comparison(comparison_id: str) -> Response:
    include_tasks = _flag("tasks", True)
    try:
        comparison = load_comparison(get_redis(), comparison_id, include_tasks=include_tasks)
    except RunNotFound:
        raise ApiError(
            404, f"no comparison {comparison_id!r} (never submitted, or expired)"
        ) from None
    return jsonify(comparison | {"now": time.time()})


@bp.get("/workers")
def get_workers() -> Response:
    return jsonify(workers_overview(get_redis(), get_queue()))


@bp.get("/workers/tree")
def get_worker_tree() -> Response:
    """Each live host's process tree, as its supervisor published it (`fanout ps`'s data)."""
    return jsonify(read_trees(get_redis()))


@bp.get("/stats")
def get_stats() -> Response:
    """Tasks ended per second and live workers per second, over the last `window` seconds."""
    window_s = _whole("window", 300, 10, stats.MAX_WINDOW_S)
    redis = get_redis()
    series = stats.throughput_series(redis, window_s=window_s)
    return jsonify(series | {"live_workers": stats.live_worker_count(redis)})
