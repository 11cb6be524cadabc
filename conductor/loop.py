"""The conductor's loop: the one process that moves comparisons and sweeps on.

Submitting a comparison enqueues its first run only (`producer.submit`); each next run is
released here, once the one before has ended and RQ has let go of its jobs
(`producer.sequence.release`), so the strategies of a comparison never compete for the workers.
The loop blocks on the run-ends stream the task writer appends to (`keys.run_ends_key`): an
ended run wakes it at once, and its comparison is then tried every `RETRY_S` while RQ finishes
the run's last job, for at most `RETRY_FOR_S`. Once a second it also tries every active
comparison (a worker that died holding the last job releases its run only after the
reconciler re-ran its tasks) and moves the current sweep one step (`conductor.sweep_driver`).

Several conductors may run (one per `fanout up`, or a scaled compose service): a comparison's
release is a WATCHed transaction and a sweep has one driver by lease, so they never do a step
twice; one is enough.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

from conductor.sweep_driver import SweepDriver
from contract import fleet, keys
from contract.replies import text
from contract.settings import Settings
from producer import sequence
from producer.connection import fanout_queue
from producer.wait import Wakeups

log = logging.getLogger(__name__)

#: How often an ended run's comparison is tried while RQ lets go of its last job, seconds.
RETRY_S = 0.01

#: How long it is tried that often; after that the once-a-second pass releases it.
RETRY_FOR_S = 2.0

#: The once-a-second pass: every active comparison, and the current sweep's step.
TICK_S = 1.0


class Conductor:
    """Releases comparisons' runs and drives sweeps; `run()` until `stop` is set."""

    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.queue = fanout_queue(redis)
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.sweeps = SweepDriver(redis, settings, host=lambda: self.name)
        self.ends = Wakeups.from_newest(redis, keys.run_ends_key())
        #: Comparison id -> until when it is tried every RETRY_S (monotonic seconds).
        self.pending: dict[str, float] = {}

    def release(self, comparison_id: str) -> bool:
        """Tries to release the comparison's next run; whether there is nothing left to wait
        for (released, or finished)."""
        released = sequence.release(
            self.redis, self.queue, comparison_id, live_workers=fleet.count_alive(self.redis)
        )
        return released is not None or not self.redis.sismember(
            keys.active_comparisons_key(), comparison_id
        )

    def on_ends(self, run_ids: list[str]) -> None:
        """Ended runs: their active comparisons are tried at once, then every RETRY_S."""
        if not run_ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for run_id in run_ids:
            pipe.hget(keys.run_key(run_id), "comparison")
        comparisons = {text(raw) for raw in pipe.execute() if raw}
        active = self.redis.smembers(keys.active_comparisons_key())
        until = time.monotonic() + RETRY_FOR_S
        for comparison_id in comparisons & {text(raw) for raw in active}:
            self.pending[comparison_id] = until

    def retry_pending(self) -> None:
        now = time.monotonic()
        for comparison_id, until in list(self.pending.items()):
            if self.release(comparison_id) or now > until:
                del self.pending[comparison_id]

    def tick(self) -> None:
        """The once-a-second pass."""
        for raw in self.redis.smembers(keys.active_comparisons_key()):
            self.release(text(raw))
        self.sweeps.tick()

    def run(self, stop: threading.Event) -> None:
        log.info("conductor %s: releasing comparisons and driving sweeps", self.name)
        next_tick = 0.0
        while not stop.is_set():
            try:
                block_s = RETRY_S if self.pending else max(0.001, next_tick - time.monotonic())
                self.on_ends([entry["run"] for entry in self.ends.wait(block_s) if "run" in entry])
                self.retry_pending()
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + TICK_S
                    self.tick()
            except RedisError as error:  # Redis away: say so once a wait, try again
                log.warning("conductor: Redis unreachable (%s)", error)
                stop.wait(TICK_S)
            except Exception:  # a bug in one step must not stop every comparison
                log.exception("conductor: a step failed")
                stop.wait(TICK_S)
