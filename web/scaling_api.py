"""The JSON API of scaling: the worker target the hosts' supervisors follow, and sweeps.

Under /api like web.api, with the same rules: exempt from CSRF (not cookie-authenticated), the
bearer token when FANOUT_API_TOKEN is set, errors as `{"error", "field"}`. A state the request
conflicts with (a sweep owning the target, more workers than the live hosts may run) is a 409.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, url_for

from contract.records import RunSpec
from contract.states import Strategy, Workload
from producer.presets import sweep_batch
from producer.scaling import TargetLocked, parse_target, set_target, target_overview
from producer.sweep import SweepBusy, SweepNotFound, create_sweep, load_sweep
from producer.validation import FleetConflict, build_spec
from web.api_common import accepted, json_body, require_token
from web.clients import get_redis, get_settings
from web.errors import ApiError

bp = Blueprint("scaling_api", __name__, url_prefix="/api")
bp.before_request(require_token)

#: The strategies a sweep may use: the ones whose jobs spread over the workers.
SWEEP_STRATEGIES = (Strategy.QUEUE.value, Strategy.HYBRID.value)


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
    redis = get_redis()
    try:
        set_target(redis, parse_target(data), settings.max_workers_per_host)
    except TargetLocked as exc:
        raise ApiError(409, str(exc), "target") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    return jsonify(target_overview(redis, settings.max_workers_per_host))


#: The fields of a sweep request: `urls` or `preset`, and these.
SWEEP_FIELDS = {"strategy", "workload", "concurrency", "workers"}


def _sweep_spec(data: dict[str, Any]) -> RunSpec:
    """The batch: `urls`, or `preset` (`io`: 80 x /delay/200; `cpu`: 80 x the cpu workload)."""
    settings = get_settings()
    unknown = sorted(set(data) - SWEEP_FIELDS - {"urls", "preset"})
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}", unknown[0])
    strategy = data.get("strategy", Strategy.QUEUE.value)
    if strategy not in SWEEP_STRATEGIES:
        raise ApiError(400, "strategy must be queue or hybrid (the ones spread over workers)")
    preset = data.get("preset")
    if preset is not None:
        if "urls" in data or preset not in ("io", "cpu"):
            raise ApiError(400, 'give urls or a preset ("io" or "cpu"), not both', "preset")
        workload = Workload.CPU if preset == "cpu" else Workload.FETCH
        submission = {
            "urls": list(sweep_batch(settings.origin_url, workload)),
            "workload": workload.value,
        }
    else:
        if not isinstance(data.get("urls"), list):
            raise ApiError(400, "urls is required: a list of http(s) URLs", "urls")
        submission = {"urls": data["urls"], "workload": data.get("workload", "fetch")}
    if isinstance(data.get("concurrency"), str):
        raise ApiError(400, "concurrency must be an integer (a JSON number), not a string",
                       "concurrency")  # fmt: skip
    submission |= {"strategy": strategy, "concurrency": data.get("concurrency", 8)}
    return build_spec(submission, settings)


@bp.post("/sweeps")
def post_sweep() -> Response:
    """202 with the sweep's id; a supervisor runs the batch at each worker count in turn."""
    data = json_body()
    spec = _sweep_spec(data)
    settings = get_settings()
    try:
        sweep_id = create_sweep(
            get_redis(), spec, data.get("workers"), settings.max_workers_per_host, settings.ttl_s
        )
    except SweepBusy as exc:
        raise ApiError(409, str(exc), "workers") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    body = {"id": sweep_id, "url": url_for("pages.sweep", sweep_id=sweep_id)}
    return accepted(body, url_for("scaling_api.get_sweep", sweep_id=sweep_id))


@bp.get("/sweeps/<id:sweep_id>")
def get_sweep(sweep_id: str) -> Response:
    """The points so far, the USL fit (or why none) and the linear ideal."""
    try:
        return jsonify(load_sweep(get_redis(), sweep_id) | {"now": time.time()})
    except SweepNotFound:
        raise ApiError(404, f"no sweep {sweep_id!r} (never submitted, or expired)") from None
