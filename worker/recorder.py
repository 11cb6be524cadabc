"""Buffers a job's task starts and ends and writes them to Redis (`worker.task_writer`).

Jobs record through one background thread per process that flushes every open job's buffers
each 0.1 s, one script call per job, so a thousand fast tasks cost a few round trips, not
thousands, and a task that ends within the interval costs one write.
"""

from __future__ import annotations

import logging
import threading
import time

from contract.records import StartRecord, TaskRecord
from worker.task_writer import RUN_GONE, TaskWriter
from worker.ticker import Ticker

log = logging.getLogger(__name__)

#: Tries of a job's last flush, 0.2 s apart.
FINAL_ATTEMPTS = 50


class Recorder:
    """Buffers one job's starts and ends; the process's flusher writes them every interval.

    A start is written only if its task is still running at the next flush: the end says
    everything the start would, so a task shorter than the interval costs one write, not two,
    and a one-URL job one round trip. The job's last flush, on exit, is synchronous: RQ must
    not see the job finished before its records are in Redis.
    """

    def __init__(self, writer: TaskWriter, run_id: str) -> None:
        self.writer = writer
        self.run_id = run_id
        self._lock = threading.Lock()  # the buffers
        self._writing = threading.Lock()  # one flush at a time, so exit waits for the flusher's
        self._starts: list[StartRecord] = []
        self._ends: list[TaskRecord] = []
        #: Set when a write found no run record: the strategies then stop the job's tasks.
        self.run_gone = False

    def __enter__(self) -> Recorder:
        _FLUSHER.add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _FLUSHER.remove(self)
        for attempt in range(FINAL_ATTEMPTS):  # through a short Redis outage, then it gives up
            try:
                self.flush(final=True)
                return
            except Exception:
                if attempt == FINAL_ATTEMPTS - 1:
                    raise
                time.sleep(0.2)

    def started(self, start: StartRecord) -> None:
        with self._lock:
            self._starts.append(start)

    def finished(self, record: TaskRecord) -> None:
        with self._lock:
            self._ends.append(record)

    def flush(self, *, final: bool = False) -> None:
        with self._writing:
            with self._lock:
                starts, self._starts = self._starts, []
                ends, self._ends = self._ends, []
            if final:
                starts = []  # the job is over: every task it ran has its end here
            elif ends:
                ended = {record.index for record in ends}
                starts = [start for start in starts if start.index not in ended]
            if not starts and not ends:
                return
            try:
                # One EVALSHA, not a pipeline: redis-py sends SCRIPT EXISTS before every pipeline
                # holding a script, so a pipeline costs two round trips even for one write.
                if self.writer.write(self.run_id, starts, ends) == RUN_GONE and not self.run_gone:
                    self.run_gone = True
                    log.warning(
                        "run %s: its record is gone from Redis (Redis restarted without "
                        "persistence, or the run expired): its remaining tasks are not run",
                        self.run_id,
                    )
            except Exception:
                with self._lock:  # kept for the next flush: a Redis blip must not lose records
                    self._starts[:0] = starts
                    self._ends[:0] = ends
                raise


#: Flushes every open Recorder each 0.1 s.
_FLUSHER: Ticker[Recorder] = Ticker("fanout-recorder", 0.1, Recorder.flush)
