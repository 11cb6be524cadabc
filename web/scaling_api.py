"""The JSON API of scaling: the worker target the hosts' supervisors follow, and sweeps.

Under /api like web.api, with the same rules: exempt from CSRF (not cookie-authenticated), the
bearer token when FANOUT_API_TOKEN is set, errors as `{"error", "field"}`. A state the request
conflicts with (a sweep owning the target, more workers than the live hosts may run) is a 409.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from contract.records import RunSpec
from contract.states import Strategy, Workload
from contract.target import TargetMode
from producer.presets import sweep_batch
from producer.scaling import TargetLocked, parse_target, set_target, target_overview
from producer.sweep import SweepBusy, SweepNotFound, create_sweep, load_sweep
from producer.validation import FleetConflict
from web.api_common import accepted, json_body, require_token
from web.bodies import parse, sweep_models, target_models
from web.clients import get_redis, get_settings
from web.errors import ApiError

bp = Blueprint("scaling_api", __name__, url_prefix="/api")
bp.before_request(require_token)


@bp.get("/workers/target")
def get_target() -> Response:
    """The target (null until set) and, per live host, its share and the workers live on it."""
    settings = get_settings()
    return jsonify(target_overview(get_redis(), settings.max_workers_per_host))


@bp.put("/workers/target")
def put_target() -> Response:
    """`{"per_host": n}` or `{"total": n}`; the hosts' supervisors follow within a second."""
    settings = get_settings()
    data = json_body("the target", object_only=False)
    target = parse_target(data)  # exactly one of per_host and total, a whole number
    per_host, total = target_models(settings)
    parse(per_host if target.mode is TargetMode.PER_HOST else total, data)
    redis = get_redis()
    try:
        set_target(redis, target, settings.max_workers_per_host)
    except TargetLocked as exc:
        raise ApiError(409, str(exc), "target") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    return jsonify(target_overview(redis, settings.max_workers_per_host))


def _sweep_spec(data: dict[str, Any]) -> tuple[RunSpec, list[int]]:
    """The batch (`urls`, or a `preset`: web.bodies.sweep_models) and the worker counts."""
    settings = get_settings()
    if "urls" in data and "preset" in data:
        raise ApiError(400, 'give urls or a preset ("io" or "cpu"), not both', "preset")
    of_urls, of_preset = sweep_models(settings)
    body = parse(of_preset if "preset" in data else of_urls, data)
    if "preset" in data:
        workload = Workload.CPU if body.preset == "cpu" else Workload.FETCH
        urls = tuple(sweep_batch(settings.origin_url, workload))
    else:
        workload, urls = body.workload, tuple(body.urls)
    spec = RunSpec(
        urls=urls, strategy=Strategy(body.strategy), concurrency=body.concurrency, workload=workload
    )
    return spec, body.workers


@bp.post("/sweeps")
def post_sweep() -> Response:
    """202 with the sweep's id; a supervisor runs the batch at each worker count in turn."""
    spec, counts = _sweep_spec(json_body())
    settings = get_settings()
    try:
        sweep_id = create_sweep(
            get_redis(), spec, counts, settings.max_workers_per_host, settings.ttl_s
        )
    except SweepBusy as exc:
        raise ApiError(409, str(exc), "workers") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    body = {"id": sweep_id, "url": url_for("pages.sweep", sweep_id=sweep_id)}
    return accepted(body, url_for("scaling_api.get_sweep", sweep_id=sweep_id))


@bp.get("/sweeps/<id:sweep_id>")
def get_sweep(sweep_id: str) -> Response:
    """The points so far, the USL fit (or why none) and the linear ideal; `?fit=all` fits the
    marked points too."""
    fit = request.args.get("fit")
    if fit not in (None, "all"):
        raise ApiError(400, "fit must be all (fit the marked points too) or absent", "fit")
    try:
        record = load_sweep(get_redis(), sweep_id, include_marked=fit == "all")
        return jsonify(record | {"now": time.time()})
    except SweepNotFound:
        raise ApiError(404, f"no sweep {sweep_id!r} (never submitted, or expired)") from None
