"""Writes task starts and ends to Redis: first writer wins, so no task is ever counted twice.

A batch job records through a background thread that flushes every `flush_interval_s` in one
pipeline, so a thousand fast tasks cost a few round trips, not thousands. A one-URL job writes
straight through.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from redis import Redis

from contract import keys
from contract.records import StartRecord, TaskRecord

# KEYS: run, tasks, order, running, throughput-second
# ARGV: ttl_s, now, history_ttl_s, then (index, record_json, state) triples.
# Returns how many records were new; -1 when the run does not exist (expired or unknown).
_FINISH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
local added = 0
for i = 4, #ARGV, 3 do
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
local sent = (#ARGV - 3) / 3
if sent > added then
  redis.call('HINCRBY', KEYS[1], 'duplicates', sent - added)
end
if added > 0 then
  redis.call('EXPIRE', KEYS[2], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  redis.call('INCRBY', KEYS[5], added)
  redis.call('EXPIRE', KEYS[5], ARGV[3])
  local done = redis.call('HINCRBY', KEYS[1], 'done', added)
  if done >= total then
    redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[2])
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

    def start(self, run_id: str, starts: Iterable[StartRecord], client=None) -> None:
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

    def finish(self, run_id: str, records: Iterable[TaskRecord], client=None) -> int:
        """Write terminal records; returns how many were new (the rest had a writer already)."""
        now = time.time()
        args: list[object] = [self.ttl_s, repr(now), keys.HISTORY_TTL_S]
        for record in records:
            args += [record.index, record.to_json(), record.state.value]
        if len(args) == 3:
            return 0
        keys_ = [
            keys.run_key(run_id),
            keys.tasks_key(run_id),
            keys.order_key(run_id),
            keys.running_key(run_id),
            keys.throughput_key(int(now)),
        ]
        return self._finish(keys=keys_, args=args, client=client)


class Recorder:
    """Buffers one run's starts and ends and flushes them in the background."""

    def __init__(
        self, writer: TaskWriter, run_id: str, *, batched: bool, flush_interval_s: float = 0.1
    ) -> None:
        self.writer = writer
        self.run_id = run_id
        self.batched = batched
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._starts: list[StartRecord] = []
        self._ends: list[TaskRecord] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_marked_started = False

    def __enter__(self) -> Recorder:
        if self.batched:
            self._thread = threading.Thread(target=self._loop, name="fanout-recorder", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._flush_until_written()

    def _flush_until_written(self, attempts: int = 50, pause_s: float = 0.2) -> None:
        """The job's last flush retries through a short Redis outage before giving up."""
        for attempt in range(attempts):
            try:
                self.flush()
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(pause_s)

    def started(self, start: StartRecord) -> None:
        if not self.batched:
            self.writer.start(self.run_id, [start])
            return
        with self._lock:
            self._starts.append(start)

    def finished(self, record: TaskRecord) -> None:
        if not self.batched:
            self.writer.finish(self.run_id, [record])
            return
        with self._lock:
            self._ends.append(record)

    def flush(self) -> None:
        with self._lock:
            starts, self._starts = self._starts, []
            ends, self._ends = self._ends, []
        if not starts and not ends:
            return
        starts = self._unsuperseded(starts, ends)
        try:
            pipe = self.writer.redis.pipeline(transaction=False)
            self.writer.start(self.run_id, starts, client=pipe)
            self.writer.finish(self.run_id, ends, client=pipe)
            pipe.execute()
            self._run_marked_started = self._run_marked_started or bool(starts)
        except Exception:
            with self._lock:  # keep them for the next flush: a Redis blip must not lose records
                self._starts[:0] = starts
                self._ends[:0] = ends
            raise

    def _unsuperseded(self, starts: list[StartRecord], ends: list[TaskRecord]) -> list[StartRecord]:
        """Starts whose task has not ended in the same flush: the end says all a start would.
        The job's first flush keeps one, which marks the run started (state, workers)."""
        if not starts or not ends:
            return starts
        ended = {record.index for record in ends}
        kept = [start for start in starts if start.index not in ended]
        if not kept and not self._run_marked_started:
            kept = starts[:1]
        return kept

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            try:
                self.flush()
            except Exception:
                time.sleep(self.flush_interval_s)
