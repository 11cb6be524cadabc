"""A pool child's start markers, written off the task's thread: a hint, never the task's business.

A start marker only shows a task as running until its end lands, and the end (which the job's
`Recorder` writes, retrying through a Redis outage) says everything the start would. So a pool
child hands each start to a daemon thread that writes it, and drops it when Redis is away or
slow: the fetch neither waits for Redis nor takes on its errors.
"""

from __future__ import annotations

import logging
import queue
import threading

from contract.records import StartRecord
from worker.task_writer import TaskWriter

log = logging.getLogger(__name__)


class ChildStarts:
    """Writes start markers in the background, a batch per run; `send` never blocks or raises."""

    def __init__(self, writer: TaskWriter) -> None:
        self._writer = writer
        self._queue: queue.SimpleQueue[tuple[str, StartRecord]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="fanout-child-starts", daemon=True).start()

    def send(self, run_id: str, start: StartRecord) -> None:
        self._queue.put((run_id, start))

    def _run(self) -> None:
        while True:
            batches: dict[str, list[StartRecord]] = {}
            run_id, start = self._queue.get()
            batches.setdefault(run_id, []).append(start)
            while not self._queue.empty():  # whatever queued meanwhile goes in the same writes
                run_id, start = self._queue.get_nowait()
                batches.setdefault(run_id, []).append(start)
            for run_id, starts in batches.items():
                try:
                    self._writer.start(run_id, starts)
                except Exception:  # Redis away: the task's end, retried by its job, says it all
                    log.debug("start markers of run %s dropped", run_id, exc_info=True)
