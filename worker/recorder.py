"""Writes task starts and ends to Redis: first writer wins, so no task is ever counted twice.

Jobs record through one background thread per process that flushes every open job's buffers
each 0.1 s in one pipeline, so a thousand fast tasks cost a few round trips, not thousands, and
a task that ends within the interval costs one write.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable

from redis import Redis

from contract import keys
from contract.records import StartRecord, TaskRecord

log = logging.getLogger(__name__)

# KEYS: run, tasks, order, running, throughput-second, alive-workers, served, ended-runs
# ARGV: ttl_s, now, history_ttl_s, first_started_at, alive_ttl_s, worker, `host|first|last` of
# this batch (empty if none of it ran), run id, then (index, record_json, state) triples.
# Returns how many records were new; -1 when the run does not exist (expired or unknown). The
# first records of a run also mark it started, as a start would (starts are not always
# written: see Recorder). The worker's first start and last end over the run widen its span for
# the capacity (`contract.capacity`); the run's end puts it in the ended set, for the
# reconcilers to finalize.
_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local added = 0
for i = 9, #ARGV, 3 do
  local index = ARGV[i]
  local n = tonumber(index)
  if n and n >= 0 and n < total then
    if redis.call('HSETNX', KEYS[2], index, ARGV[i + 1]) == 1 then
      redis.call('RPUSH', KEYS[3], index)
      redis.call('HINCRBY', KEYS[1], 'n_' .. ARGV[i + 2], 1)
      added = added + 1
    end
    redis.call('HDEL', KEYS[4], index)
  end
end
local sent = (#ARGV - 8) / 3
if sent > added then
  redis.call('HINCRBY', KEYS[1], 'duplicates', sent - added)
end
if added > 0 then
  if redis.call('HSETNX', KEYS[1], 'started_at', ARGV[4]) == 1 then
    local alive = redis.call('ZCOUNT', KEYS[6], tonumber(ARGV[2]) - tonumber(ARGV[5]), '+inf')
    redis.call('HSET', KEYS[1], 'state', 'running', 'workers_at_start', alive)
  end
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  redis.call('INCRBY', KEYS[5], added)
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  if ARGV[7] ~= '' then
    local host, first, last = string.match(ARGV[7], '^(.*)|([^|]+)|([^|]+)$')
    local seen = redis.call('HGET', KEYS[7], ARGV[6])
    if seen then
      local _, f0, l0 = string.match(seen, '^(.*)|([^|]+)|([^|]+)$')
      if tonumber(f0) < tonumber(first) then first = f0 end
      if tonumber(l0) > tonumber(last) then last = l0 end
    end
    redis.call('HSET', KEYS[7], ARGV[6], host .. '|' .. first .. '|' .. last)
    redis.call('EXPIRE', KEYS[7], ARGV[1])
  end
  local done = redis.call('HINCRBY', KEYS[1], 'done', added)
  if done >= total then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
    redis.call('SADD', KEYS[8], ARGV[8])
  end
end
return added
"""

# KEYS: run, tasks, running, alive-workers.  ARGV: ttl_s, now, alive_ttl_s, (index, start_json)...
# The first start also notes how many workers were alive: the slots of a queued run.
_START = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for i = 4, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
redis.call('EXPIRE', KEYS[3], ARGV[1])
if redis.call('HSETNX', KEYS[1], 'started_at', ARGV[2]) == 1 then
  local alive = redis.call('ZCOUNT', KEYS[4], tonumber(ARGV[2]) - tonumber(ARGV[3]), '+inf')
  redis.call('HSET', KEYS[1], 'state', 'running', 'workers_at_start', alive)
end
return 0
"""


class TaskWriter:
    """The two atomic writes, usable on a client or a pipeline."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self._finish = redis.register_script(_FINISH)
        self._start = redis.register_script(_START)

    def start(
        self, run_id: str, starts: Iterable[StartRecord], client: Redis | None = None
    ) -> None:
        args: list[object] = [self.ttl_s, repr(time.time()), keys.ALIVE_TTL_S]
        for start in starts:
            args += [start.index, start.to_json()]
        if len(args) > 3:
            keys_ = [
                keys.run_key(run_id),
                keys.tasks_key(run_id),
                keys.running_key(run_id),
                keys.alive_workers_key(),
            ]
            self._start(keys=keys_, args=args, client=client)

    def finish(
        self, run_id: str, records: Iterable[TaskRecord], client: Redis | None = None
    ) -> int:
        """Write terminal records; returns how many were new (the rest had a writer already)."""
        now = time.time()
        args: list[object] = []
        first_started_at = now
        last_finished_at = 0.0
        worker = host = ""
        ran = False
        for record in records:
            args += [record.index, record.to_json(), record.state.value]
            if record.started_at is not None and record.started_at < first_started_at:
                first_started_at = record.started_at
                ran = True
            if record.finished_at is not None and record.finished_at > last_finished_at:
                last_finished_at = record.finished_at
            worker, host = record.worker or worker, record.host or host
        if not args:
            return 0
        last = max(last_finished_at, first_started_at)
        served = f"{host}|{first_started_at!r}|{last!r}" if ran else ""
        head = [
            self.ttl_s,
            repr(now),
            keys.HISTORY_TTL_S,
            repr(first_started_at),
            keys.ALIVE_TTL_S,
            worker or "?",
            served,
            run_id,
        ]
        keys_ = [
            keys.run_key(run_id),
            keys.tasks_key(run_id),
            keys.order_key(run_id),
            keys.running_key(run_id),
            keys.throughput_key(int(now)),
            keys.alive_workers_key(),
            keys.served_key(run_id),
            keys.ended_runs_key(),
        ]
        args = head + args
        return self._finish(keys=keys_, args=args, client=client)


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

    def __enter__(self) -> Recorder:
        _FLUSHER.add(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _FLUSHER.remove(self)
        self._flush_until_written(final=True)

    def _flush_until_written(
        self, *, final: bool, attempts: int = 50, pause_s: float = 0.2
    ) -> None:
        """The job's last flush retries through a short Redis outage before giving up."""
        for attempt in range(attempts):
            try:
                self.flush(final=final)
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(pause_s)

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
                # Two EVALSHA, not a pipeline: redis-py sends SCRIPT EXISTS before every pipeline
                # holding a script, so a pipeline costs two round trips even for one write.
                self.writer.start(self.run_id, starts)
                self.writer.finish(self.run_id, ends)
            except Exception:
                with self._lock:  # kept for the next flush: a Redis blip must not lose records
                    self._starts[:0] = starts
                    self._ends[:0] = ends
                raise


class _Flusher:
    """One daemon thread per process flushing every open Recorder each `interval_s`: cheaper
    than a thread per job, which a one-URL job would pay for nothing."""

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._open: set[Recorder] = set()
        self._thread: threading.Thread | None = None

    def add(self, recorder: Recorder) -> None:
        with self._lock:
            self._open.add(recorder)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="fanout-recorder")
                self._thread.daemon = True
                self._thread.start()

    def remove(self, recorder: Recorder) -> None:
        with self._lock:
            self._open.discard(recorder)

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval_s)
            with self._lock:
                recorders = list(self._open)
            for recorder in recorders:
                try:
                    recorder.flush()
                except Exception:
                    log.debug("flush failed; kept for the next one", exc_info=True)

    def forget_after_fork(self) -> None:
        self._lock = threading.Lock()
        self._open = set()
        self._thread = None


_FLUSHER = _Flusher()
os.register_at_fork(after_in_child=_FLUSHER.forget_after_fork)
