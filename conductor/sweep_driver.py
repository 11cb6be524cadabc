"""Drives the current scaling sweep one step per tick, from the conductor's loop.

The sweep stays in Redis between ticks, so no step blocks (the pool keeps growing and shrinking
while a run goes); each tick reads where the sweep's record says it is.

One conductor drives a sweep at a time: it takes the sweep's lease (redis-py's `Lock`: SET NX
with an expiry and a token) and renews it each tick. A conductor (or a reader) that finds a
running sweep with no lease knows its driver died mid-sweep, and fails it
(`producer.sweep.fail_if_orphaned`) rather than resuming: a point measured across the driver's
gap would say nothing true.

Steps, for each count N: set the total target to N; wait until exactly N workers are live
(retired ones finish their job first); run the batch (`producer.submit.submit_run`); record the
point. After the last, the sweep ends and the target it found is put back.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import LockError
from redis.lock import Lock

from contract import fleet, keys
from contract.records import RunSpec
from contract.replies import text
from contract.settings import Settings
from contract.target import Target, TargetMode, write_target
from producer.connection import fanout_queue
from producer.reader import load_run
from producer.submit import submit_run
from producer.sweep import (
    DRIVER_LEASE_S,
    ENDED,
    SweepState,
    end_sweep,
    fail_if_orphaned,
    read_sweep,
)
from producer.sweep_points import point_from_run
from producer.wait import run_state

log = logging.getLogger(__name__)

#: How long a step may wait for exactly N live workers before the sweep fails.
SCALE_TIMEOUT_S = 120.0

#: How long a point waits for the host-load samples that cover its run (`others_cores`).
HOST_LOAD_WAIT_S = 5.0

#: How long one run of the batch may take before the sweep fails.
RUN_TIMEOUT_S = 1800.0


class SweepDriver:
    """`tick()` once a second: claim or renew the current sweep, then move it one step on."""

    def __init__(
        self, redis: Redis, settings: Settings, host: Callable[[], str] = lambda: "?"
    ) -> None:
        """`host` names the driver in the sweep's record (the conductor's host:pid)."""
        self.redis = redis
        self.settings = settings
        self.host = host
        self._lease: Lock | None = None

    def lease(self, sweep_id: str) -> Lock:
        """The sweep's driver lease as this driver sees it (one sweep at a time)."""
        name = keys.sweep_driver_key(sweep_id)
        if self._lease is None or self._lease.name != name:
            self._lease = self.redis.lock(
                name, timeout=DRIVER_LEASE_S, blocking=False, thread_local=False
            )
        return self._lease

    def _holds(self, sweep_id: str) -> bool:
        """Renews the lease if this driver holds it."""
        try:
            return self.lease(sweep_id).reacquire()
        except LockError:  # never taken by this driver, or lapsed and maybe taken by another
            return False

    def _claim(self, sweep_id: str, record: dict[str, str]) -> bool:
        if record.get("state") == SweepState.RUNNING.value:
            fail_if_orphaned(self.redis, sweep_id)  # had a driver, and its lease ran out
            return False
        if not self.lease(sweep_id).acquire(blocking=False):
            return False
        self.redis.hset(
            keys.sweep_key(sweep_id),
            mapping={
                "state": SweepState.RUNNING.value,
                "driver": self.host(),
                "started_at": repr(time.time()),
                "phase": "scale",
                "phase_since": repr(time.time()),
            },
        )
        log.info("driving sweep %s", sweep_id)
        return True

    def tick(self) -> None:
        raw = self.redis.get(keys.current_sweep_key())
        if not raw:
            return
        sweep_id = text(raw)
        try:
            record = read_sweep(self.redis, sweep_id)
        except LookupError:  # expired under its lock: let the target go
            self.redis.delete(keys.current_sweep_key())
            return
        if SweepState(record["state"]) in ENDED:
            return
        if not self._holds(sweep_id) and not self._claim(sweep_id, record):
            return
        try:
            self._step(sweep_id, read_sweep(self.redis, sweep_id))
        except Exception as exc:
            log.warning("sweep %s failed", sweep_id, exc_info=True)
            self._fail(sweep_id, f"{type(exc).__name__}: {exc}")

    def _fail(self, sweep_id: str, why: str) -> None:
        end_sweep(self.redis, sweep_id, SweepState.FAILED, why)

    def _step(self, sweep_id: str, record: dict[str, str]) -> None:
        counts = json.loads(record["counts"])
        step = int(record.get("step") or 0)
        if step >= len(counts):
            end_sweep(self.redis, sweep_id, SweepState.DONE)
            log.info("sweep %s done", sweep_id)
            return
        n = counts[step]
        since = float(record.get("phase_since") or time.time())
        key = keys.sweep_key(sweep_id)
        if record.get("phase") == "run":
            self._wait_run(sweep_id, record, n, step, since)
            return
        write_target(self.redis, Target(TargetMode.TOTAL, n))
        live = fleet.count_alive(self.redis)
        if live != n:
            if time.time() - since > SCALE_TIMEOUT_S:
                self._fail(
                    sweep_id,
                    f"{live} workers live, not {n}, after {SCALE_TIMEOUT_S:.0f} s: "
                    "are enough hosts up, each allowed enough workers?",
                )
            return
        spec = RunSpec.from_dict(json.loads(record["spec"]))
        run_id = submit_run(self.redis, fanout_queue(self.redis), spec, self.settings)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.run_key(run_id), "sweep", sweep_id)  # the run lists link back to it
        pipe.hset(key, mapping={"phase": "run", "run_id": run_id, "phase_since": repr(time.time())})
        pipe.execute()

    def _wait_run(
        self, sweep_id: str, record: dict[str, str], n: int, step: int, since: float
    ) -> None:
        run_id = record["run_id"]
        state, done, total = run_state(self.redis, run_id)
        if state != "done":
            if not state or time.time() - since > RUN_TIMEOUT_S:
                reason = "expired" if not state else f"not done after {RUN_TIMEOUT_S:.0f} s"
                self._fail(sweep_id, f"run {run_id} {reason} ({done}/{total})")
            return
        run = load_run(self.redis, run_id, include_tasks=False)
        waited = time.time() - (run.get("finished_at") or 0)
        if not run.get("host_load") and waited < HOST_LOAD_WAIT_S:
            return  # the CPU samples that cover the run's last second come within a second
        tasks = load_run(self.redis, run_id)["tasks"]
        reruns = sum(1 for task in tasks if (task.get("attempt") or 1) > 1)
        point = point_from_run(n, run, reruns=reruns)
        points = [*json.loads(record.get("points") or "[]"), point]
        self.redis.hset(
            keys.sweep_key(sweep_id),
            mapping={
                "points": json.dumps(points),
                "step": step + 1,
                "phase": "scale",
                "phase_since": repr(time.time()),
                "run_id": "",
            },
        )
