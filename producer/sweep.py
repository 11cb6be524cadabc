"""A scaling sweep's record: the same batch run at each total worker count, one point each.

The sweep lives in Redis (`keys.sweep_key`), not in the process that asked for it: a web
request must not block for minutes, and a thread of a gunicorn process dies when gunicorn
recycles it. A conductor drives it (`conductor.sweep_driver`) and it owns the worker target from
creation (`keys.current_sweep_key`, SET NX) until it ends, when the target it found is put back.
"""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import Any

from redis import Redis
from redis.exceptions import WatchError

from contract import keys, replies
from contract.records import RunSpec
from contract.replies import text
from contract.target import Target, live_hosts, read_target
from figures import usl
from producer.submit import new_id
from producer.validation import FleetConflict, InvalidInput, whole_number

#: At most this many worker counts in one sweep.
MAX_COUNTS = 12

#: How long the driver's lease lasts unrenewed (it renews every second).
DRIVER_LEASE_S = keys.ALIVE_TTL_S


class SweepState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ENDED = frozenset({SweepState.DONE, SweepState.FAILED})


class SweepNotFound(LookupError):
    pass


class SweepBusy(RuntimeError):
    """Another sweep owns the worker target."""


def check_counts(raw: Any, hosts: int, max_per_host: int) -> list[int]:
    """Distinct whole totals, each from 1 to hosts x max_per_host, in ascending order."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("workers", "workers must be a non-empty list of worker counts")
    if len(raw) > MAX_COUNTS:
        raise InvalidInput("workers", f"at most {MAX_COUNTS} worker counts")
    raw = [whole_number(n) for n in raw]
    if None in raw:
        raise InvalidInput("workers", "worker counts must be whole numbers")
    if len(set(raw)) != len(raw):
        raise InvalidInput("workers", "worker counts must not repeat")
    if any(n < 1 for n in raw):
        raise InvalidInput("workers", "each count must be at least 1")
    if hosts == 0:
        raise FleetConflict("workers", "no host is live: start `fanout worker` first")
    most = hosts * max_per_host
    if any(n > most for n in raw):
        raise FleetConflict(
            "workers",
            f"each count must be from 1 to {most} ({hosts} live host(s) x {max_per_host} each)",
        )
    return sorted(raw)


def create_sweep(redis: Redis, spec: RunSpec, counts: Any, max_per_host: int, ttl_s: int) -> str:
    """Record the sweep and take the target for it (`counts` as the client sent them: checked
    here); SweepBusy if another sweep holds it. The record is written before the sweep becomes
    current: a driver that reads a current sweep always finds its record."""
    counts = check_counts(counts, len(live_hosts(redis)), max_per_host)
    sweep_id = new_id()
    target = read_target(redis)
    now = time.time()
    key = keys.sweep_key(sweep_id)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        key,
        mapping={
            "id": sweep_id,
            "spec": json.dumps(spec.to_dict(), separators=(",", ":")),
            "counts": json.dumps(counts),
            "state": SweepState.QUEUED.value,
            "step": 0,
            "points": "[]",
            "restore": json.dumps(target.to_dict() if target else None),
            "submitted_at": repr(now),
            "ttl_s": ttl_s,
        },
    )
    pipe.expire(key, ttl_s)
    pipe.execute()
    if not redis.set(keys.current_sweep_key(), sweep_id, nx=True):
        redis.delete(key)
        holder = text(redis.get(keys.current_sweep_key()))
        raise SweepBusy(f"sweep {holder} is still running; one sweep at a time")
    pipe = redis.pipeline(transaction=True)
    pipe.zadd(keys.sweeps_index_key(), {sweep_id: now})
    pipe.expire(keys.sweeps_index_key(), ttl_s)
    pipe.execute()
    return sweep_id


def read_sweep(redis: Redis, sweep_id: str) -> dict[str, str]:
    raw = redis.hgetall(keys.sweep_key(sweep_id))
    if not raw:
        raise SweepNotFound(sweep_id)
    return {text(k): text(v) for k, v in raw.items()}


def end_sweep(
    redis: Redis, sweep_id: str, state: SweepState, error: str = "", *, expect: str | None = None
) -> bool:
    """Mark the sweep ended, put the target back and let go of it; False if it had already
    ended (or its state was no longer `expect`), so exactly one ender restores the target."""
    key = keys.sweep_key(sweep_id)
    with redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(key, keys.current_sweep_key())
            current = text(pipe.hget(key, "state"))
            if current is None or SweepState(current) in ENDED:
                return False
            if expect is not None and current != expect:
                return False
            found = json.loads(text(pipe.hget(key, "restore")) or "null")
            restore = Target.from_dict(found) if found else None
            owner = text(pipe.get(keys.current_sweep_key()))
            pipe.multi()
            pipe.hset(
                key,
                mapping={"state": state.value, "error": error, "finished_at": repr(time.time())},
            )
            pipe.delete(keys.worker_target_key())
            if restore is not None:
                pipe.hset(keys.worker_target_key(), mapping=restore.to_dict())
            if owner == sweep_id:
                pipe.delete(keys.current_sweep_key())
            pipe.delete(keys.sweep_driver_key(sweep_id))
            pipe.execute()
        except WatchError:
            return False
    return True


def fail_if_orphaned(redis: Redis, sweep_id: str) -> bool:
    """A running sweep whose driver's lease expired lost its driver: fail it, restore the target."""
    record = read_sweep(redis, sweep_id)
    if record.get("state") != SweepState.RUNNING.value:
        return False
    if redis.exists(keys.sweep_driver_key(sweep_id)):
        return False
    host = record.get("driver") or "?"
    message = (
        f"its driver (the conductor {host}) stopped for more than {DRIVER_LEASE_S} s "
        "mid-sweep; the target was put back"
    )
    return end_sweep(redis, sweep_id, SweepState.FAILED, message, expect="running")


def list_sweeps(redis: Redis, *, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first, as `load_sweep` shows them; sweeps whose records expired are dropped from
    the index."""
    sweeps = []
    for raw in replies.members(redis.zrevrange(keys.sweeps_index_key(), 0, limit - 1)):
        sweep_id = text(raw) or ""
        try:
            sweeps.append(load_sweep(redis, sweep_id))
        except SweepNotFound:
            redis.zrem(keys.sweeps_index_key(), sweep_id)
    return sweeps


def load_sweep(redis: Redis, sweep_id: str, *, include_marked: bool = False) -> dict[str, Any]:
    """The sweep as the API and the page show it: spec, state, points, the USL fit (or why
    there is none) and the linear ideal; marked points are fitted only with `include_marked`."""
    fail_if_orphaned(redis, sweep_id)
    record = read_sweep(redis, sweep_id)
    spec = json.loads(record["spec"])
    points = json.loads(record.get("points") or "[]")
    counts = json.loads(record["counts"])
    return {
        "id": sweep_id,
        "state": record["state"],
        "error": record.get("error") or None,
        "spec": {k: v for k, v in spec.items() if k != "urls"} | {"urls": len(spec["urls"])},
        "workers": counts,
        "step": int(record.get("step") or 0),
        "phase": record.get("phase") or None,
        "run_id": record.get("run_id") or None,
        "driver": record.get("driver") or None,
        "submitted_at": float(record["submitted_at"]),
        "finished_at": float(record["finished_at"]) if record.get("finished_at") else None,
        "restore": json.loads(record.get("restore") or "null"),
        **analysis(points, include_marked=include_marked),
    }


def analysis(points: list[dict[str, Any]], *, include_marked: bool = False) -> dict[str, Any]:
    """The points, each saying whether it was `fitted`; the fit (None below `usl.MIN_POINTS`
    usable worker counts, with `fit_note` saying why); its curve; the linear ideal (one
    worker's throughput x N, when N = 1 was measured usably).

    A point with marks (`producer.sweep_points`) is left out unless `include_marked`."""
    shown = []
    for point in points:
        usable = bool(point.get("throughput")) and (include_marked or not point.get("marks"))
        shown.append(point | {"marks": point.get("marks") or [], "fitted": usable})
    measured = [(p["workers"], p["throughput"]) for p in shown if p["fitted"]]
    left_out = sum(1 for p in shown if p["marks"] and not p["fitted"])
    marked_note = None
    if left_out:
        marked_note = (
            f"{left_out} marked point{' was' if left_out == 1 else 's were'} left out of the "
            "fit: refused, failed or re-run tasks, or a change in the live workers, mean the "
            "point did not measure the batch at its N"
        )
    top = max((n for n, _ in measured), default=0)
    ones = [x for n, x in measured if n == 1]
    ideal = {"n": [1, top], "x": [ones[0], ones[0] * top]} if ones and top > 1 else None
    model = usl.fit([n for n, _ in measured], [x for _, x in measured]) if measured else None
    base = {"points": shown, "fit_note_marked": marked_note}
    if model is None:
        distinct = len({n for n, _ in measured})
        why = (
            f"no fit: {distinct} usable worker count(s)"
            + (f" ({left_out} marked left out)" if left_out else "")
            + f", the USL needs {usl.MIN_POINTS}. With lambda taken from one point, sigma and "
            "kappa pass through two more exactly (R^2 = 1 whatever they are): only a fourth "
            "point tests the law."
        )
        return base | {"fit": None, "fit_note": why, "curve": None, "ideal": ideal}
    return base | {
        "fit": model.to_dict(),
        "fit_note": None,
        "curve": usl.curve(model, top),
        "ideal": {"n": [1, top], "x": [model.lam, model.lam * top]},
    }
