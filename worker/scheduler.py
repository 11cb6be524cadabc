"""RQ's scheduler, dying with the worker that forked it.

RQ forks the scheduler from the worker that holds `rq:scheduler-lock:<queue>`. A SIGKILLed worker
would leave it running with no parent, holding the lock, so no other worker could schedule.
This one asks for a SIGTERM when its worker dies (`contract.parent_death`): RQ's own handler then
stops it at its next tick, releasing the lock.
"""

from __future__ import annotations

import os
import signal
from multiprocessing.process import BaseProcess

from rq.scheduler import RQScheduler

from contract.parent_death import die_with_parent
from worker.redis_gone import REDIS_GONE


class FanoutScheduler(RQScheduler):
    """RQ's scheduler; its process ends when the worker's does."""

    _worker_pid = 0

    def start(self) -> BaseProcess:
        """In the worker's main thread (RQ starts it from the work loop), as the kernel needs."""
        self._worker_pid = os.getpid()
        return super().start()  # type: ignore[no-untyped-call,no-any-return]  # unannotated in RQ

    def work(self) -> None:
        """In the forked scheduler: RQ's SIGTERM handler first, then the parent-death signal.
        A lost Redis ends it with one line (the worker starts another once Redis is back)."""
        self._install_signal_handlers()  # type: ignore[no-untyped-call]  # unannotated in RQ
        die_with_parent(signal.SIGTERM, self._worker_pid)
        try:
            super().work()  # type: ignore[no-untyped-call]  # unannotated in RQ
        except REDIS_GONE as error:
            self.log.warning("Scheduler: Redis unreachable: stopping (%s)", error)
