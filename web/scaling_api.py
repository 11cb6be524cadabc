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
from contract.states import Strategy
from contract.target import Target
from producer.presets import SWEEP_PRESETS, sweep_batch
from producer.scaling import TargetLocked, set_target, target_overview
from producer.sweep import SweepBusy, SweepNotFound, create_sweep, load_sweep
from producer.validation import FleetConflict
from web import responses as r
from web.api_common import accepted, require_token
from web.bodies import SWEEP, TARGET
from web.clients import get_redis, get_settings
from web.errors import ApiError
from web.operations import POLL, Reply, declare, ok
from web.queries import SweepQuery

bp = Blueprint("scaling_api", __name__, url_prefix="/api")
bp.before_request(require_token)


@bp.get("/workers/target")
@declare("getWorkerTarget", "The worker target, and per live host its share and live workers",
         replies=ok("The target", r.WorkerTarget))  # fmt: skip
def get_target() -> Response:
    settings = get_settings()
    return jsonify(target_overview(get_redis(), settings.max_workers_per_host))


@bp.put("/workers/target")
@declare("setWorkerTarget", "Scale: every host's supervisor follows the target within seconds",
         body=TARGET, replies=ok("The target set", r.WorkerTarget), errors=(409,))  # fmt: skip
def put_target(body: Target) -> Response:
    settings = get_settings()
    redis = get_redis()
    try:
        set_target(redis, body, settings.max_workers_per_host)
    except TargetLocked as exc:
        raise ApiError(409, str(exc), "target") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    return jsonify(target_overview(redis, settings.max_workers_per_host))


def _sweep_spec(body: Any) -> RunSpec:
    """The batch: `urls`, or a `preset`'s (web.bodies.sweep_models)."""
    if hasattr(body, "preset"):
        workload = SWEEP_PRESETS[body.preset][0]
        urls = tuple(sweep_batch(get_settings().origin_url, workload))
    else:
        workload, urls = body.workload, tuple(body.urls)
    return RunSpec(
        urls=urls, strategy=Strategy(body.strategy), concurrency=body.concurrency, workload=workload
    )


@bp.post("/sweeps")
@declare(
    "submitSweep",
    "Run one batch at each total of workers; fit the USL to the points",
    body=SWEEP,
    replies={202: Reply(POLL, (r.SweepAccepted,), headers={"Location": ""})},
    errors=(409,),
)
def post_sweep(body: Any) -> Response:
    settings = get_settings()
    try:
        sweep_id = create_sweep(
            get_redis(),
            _sweep_spec(body),
            body.workers,
            settings.max_workers_per_host,
            settings.ttl_s,
        )
    except SweepBusy as exc:
        raise ApiError(409, str(exc), "workers") from None
    except FleetConflict as exc:
        raise ApiError(409, exc.message, exc.field) from None
    answer = {"id": sweep_id, "url": url_for("pages.sweep", sweep_id=sweep_id)}
    return accepted(answer, url_for("scaling_api.get_sweep", sweep_id=sweep_id))


@bp.get("/sweeps/<id:sweep_id>")
@declare("getSweep", "A sweep's points, its USL fit and the linear ideal", query=SweepQuery,
         replies=ok("The sweep", r.Sweep))  # fmt: skip
def get_sweep(sweep_id: str, query: SweepQuery) -> Response:
    try:
        record = load_sweep(get_redis(), sweep_id, include_marked=query.fit == "all")
        return jsonify(record | {"now": time.time()})
    except SweepNotFound:
        raise ApiError(404, f"no sweep {sweep_id!r} (never submitted, or expired)") from None
