"""The workers as Redis remembers them: when each lived, what it served, how busy its host was.

Written by the workers (`worker.heartbeat`), read by the producer (run summaries, the Workers
page) and by the workers themselves (finalizing a run): both sides read through here so they
agree on what a span and a sample mean.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from redis import Redis

from contract import keys
from contract.records import WorkerSpan
from contract.replies import text

#: The mark of a stack's processes: `fanout up` gives every process it starts the same value
#: (its own pid), inherited by their children (redis-server, gunicorn's workers, the supervisor's
#: workers). A worker counts the CPU of the processes bearing its own mark as fanout's, not as
#: other processes' (`worker.stack_cpu`). Processes of another stack bear another value.
STACK_ENV = "FANOUT_STACK"

#: Which part of the stack a process is: the Procfile's name (redis, origin, web, worker).
STACK_PART_ENV = "FANOUT_STACK_PART"

#: The part of `fanout up` itself (honcho, relaying every process's output): the process whose
#: pid is the mark.
ROOT_PART = "up"


def is_fresh(beat: float | None, now: float) -> bool:
    """The one alive predicate: a heartbeat younger than `keys.ALIVE_TTL_S`. A worker beats
    every second; ten seconds of silence means it is gone, not that its beat landed late."""
    return beat is not None and beat >= now - keys.ALIVE_TTL_S


def count_alive(redis: Redis, *, now: float | None = None) -> int:
    """Workers alive now (`is_fresh`), in one ZCOUNT."""
    now = time.time() if now is None else now
    return int(redis.zcount(keys.alive_workers_key(), now - keys.ALIVE_TTL_S, "+inf"))


def is_alive(redis: Redis, worker_name: str, *, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return is_fresh(redis.zscore(keys.alive_workers_key(), worker_name), now)


@dataclass(frozen=True)
class WorkerLife:
    """A worker's span plus what the span alone does not say."""

    span: WorkerSpan
    machine: str
    gone: bool
    left_cleanly: bool
    last_beat: float | None
    #: The host name of the supervisor that ran it in the worker target (`contract.target`).
    supervisor: str = ""
    #: Its stack's mark (`STACK_ENV`) and part, empty outside a stack.
    stack: str = ""
    part: str = ""


def read_lives(redis: Redis, *, now: float) -> list[WorkerLife]:
    """Every worker with a span, its end resolved: its clean stop, `now` while its heartbeat is
    younger than `keys.ALIVE_TTL_S`, else (killed) its last heartbeat."""
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.worker_spans_key())
    pipe.zrange(keys.alive_workers_key(), 0, -1, withscores=True)
    raw_spans, beats = pipe.execute()
    last_beats = {text(name): score for name, score in beats}
    lives = []
    for raw_name, raw in raw_spans.items():
        name = text(raw_name)
        try:
            data = json.loads(raw)
            joined = float(data["joined_at"])
        except (ValueError, KeyError, TypeError):
            continue
        beat = last_beats.get(name)
        left = data.get("left_at")
        if left is not None:
            end, gone = float(left), True
        elif is_fresh(beat, now):
            end, gone = now, False
        else:
            end, gone = max(joined, beat or joined), True
        span = WorkerSpan(name, str(data.get("host", "?")), joined, end, data.get("cores"))
        supervisor = str(data.get("supervisor") or span.host)
        lives.append(
            WorkerLife(
                span,
                str(data.get("machine", "")),
                gone,
                left is not None,
                beat,
                supervisor,
                str(data.get("stack") or ""),
                str(data.get("part") or ""),
            )
        )
    lives.sort(key=lambda life: (life.span.start, life.span.name))
    return lives


def read_served(redis: Redis, run_id: str) -> dict[str, tuple[str, float, float]]:
    """Worker name -> (host, first start, last end) of the tasks it ended for the run."""
    served = {}
    for name, value in redis.hgetall(keys.served_key(run_id)).items():
        host, _, times = text(value).partition("|")
        first, _, last = times.partition("|")
        try:
            served[text(name)] = (host, float(first), float(last))
        except ValueError:
            continue
    return served


def live_series(lives: Iterable[WorkerLife], seconds: Sequence[int]) -> list[int]:
    """Workers alive during each second: counted through the liveness window, so a heartbeat
    that lands late on a busy host does not make a worker blink out."""
    spans = [life.span for life in lives]
    return [sum(1 for s in spans if s.start < second + 1 and s.end >= second) for second in seconds]


# --- host load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A worker's CPU sample: when, the machine's busy CPU seconds since boot, the worker's own
    (with its children), and, in a stack, its stack's CPU seconds per part since the worker began
    counting (`worker.stack_cpu`). Each is a counter: a window's figure is a difference."""

    at: float
    busy: float
    own: float
    stack: Mapping[str, float] = field(default_factory=dict)


def format_sample(at: float, busy: float, own: float, stack: Mapping[str, float]) -> str:
    """The sample as the member of the worker's CPU zset: "at busy own part=cpu ..."."""
    parts = "".join(f" {part or '-'}={cpu:.3f}" for part, cpu in sorted(stack.items()))
    return f"{at!r} {busy:.3f} {own:.3f}{parts}"


def parse_sample(member: bytes | str) -> Sample | None:
    fields = text(member).split()
    if len(fields) < 3:
        return None
    try:
        stack = {}
        for part in fields[3:]:
            name, _, cpu = part.partition("=")
            stack["" if name == "-" else name] = float(cpu)
        return Sample(float(fields[0]), float(fields[1]), float(fields[2]), stack)
    except ValueError:
        return None


def read_samples(
    redis: Redis, workers: Iterable[str], start: float, end: float
) -> dict[str, list[Sample]]:
    """Each worker's CPU samples from just before `start` to just after `end`."""
    names = list(workers)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.zrangebyscore(keys.worker_cpu_key(name), start - 5, end + 5)
    result = {}
    for name, members in zip(names, pipe.execute(), strict=True):
        parsed = [s for s in (parse_sample(m) for m in members) if s is not None]
        result[name] = sorted(parsed, key=lambda s: s.at)
    return result
