"""The workers as Redis remembers them: when each lived, what it served, how busy its host was.

Written by the workers (`worker.heartbeat`), read by the producer (run summaries, the Workers
page) and by the workers themselves (finalizing a run): both sides read through here so they
agree on what a span and a sample mean.
"""

from __future__ import annotations

import json
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis

from contract import keys
from contract.capacity import WorkerSpan

#: Cores kept busy by processes other than fanout's workers, averaged over a run, above which
#: the run's figures are flagged as distorted (a quarter of a core).
BUSY_OTHERS_CORES = 0.25


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


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


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


def read_lives(redis: Redis, *, now: float) -> list[WorkerLife]:
    """Every worker with a span, its end resolved: its clean stop, `now` while its heartbeat is
    younger than `keys.ALIVE_TTL_S`, else (killed) its last heartbeat."""
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.worker_spans_key())
    pipe.zrange(keys.alive_workers_key(), 0, -1, withscores=True)
    raw_spans, beats = pipe.execute()
    last_beats = {_text(name): score for name, score in beats}
    lives = []
    for raw_name, raw in raw_spans.items():
        name = _text(raw_name)
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
            WorkerLife(span, str(data.get("machine", "")), gone, left is not None, beat, supervisor)
        )
    lives.sort(key=lambda life: (life.span.start, life.span.name))
    return lives


def read_served(redis: Redis, run_id: str) -> dict[str, tuple[str, float, float]]:
    """Worker name -> (host, first start, last end) of the tasks it ended for the run."""
    served = {}
    for name, value in redis.hgetall(keys.served_key(run_id)).items():
        host, _, times = _text(value).partition("|")
        first, _, last = times.partition("|")
        try:
            served[_text(name)] = (host, float(first), float(last))
        except ValueError:
            continue
    return served


def live_series(lives: Iterable[WorkerLife], seconds: Sequence[int]) -> list[int]:
    """Workers alive during each second: counted through the liveness window, so a heartbeat
    that lands late on a busy host does not make a worker blink out."""
    spans = [life.span for life in lives]
    return [sum(1 for s in spans if s.start < second + 1 and s.end >= second) for second in seconds]


# --- host load ------------------------------------------------------------------------------


def parse_sample(member: bytes | str) -> tuple[float, float, float] | None:
    try:
        at, busy, own = (float(x) for x in _text(member).split())
    except ValueError:
        return None
    return at, busy, own


def _at(samples: Sequence[tuple[float, float, float]], when: float) -> tuple[float, float] | None:
    """(busy, own) at `when`, interpolated between the samples around it."""
    if not samples or when < samples[0][0] or when > samples[-1][0]:
        return None
    i = bisect_left([s[0] for s in samples], when)
    if samples[i][0] == when or i == 0:
        return samples[i][1], samples[i][2]
    (t0, b0, o0), (t1, b1, o1) = samples[i - 1], samples[i]
    f = (when - t0) / (t1 - t0) if t1 > t0 else 0.0
    return b0 + f * (b1 - b0), o0 + f * (o1 - o0)


def read_samples(
    redis: Redis, workers: Iterable[str], start: float, end: float
) -> dict[str, list[tuple[float, float, float]]]:
    """Each worker's CPU samples from just before `start` to just after `end`."""
    names = list(workers)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.zrangebyscore(keys.worker_cpu_key(name), start - 5, end + 5)
    result = {}
    for name, members in zip(names, pipe.execute(), strict=True):
        parsed = [s for s in (parse_sample(m) for m in members) if s is not None]
        result[name] = sorted(parsed)
    return result


def host_load(
    lives: Sequence[WorkerLife],
    samples: dict[str, list[tuple[float, float, float]]],
    start: float,
    end: float,
) -> dict[str, Any] | None:
    """Cores that processes other than fanout's workers kept busy on each machine during
    [start, end]: the machine's busy CPU minus every worker's own on it. None until samples
    cover the window (they come once a second)."""
    if end <= start:
        return None
    by_machine: dict[str, list[WorkerLife]] = {}
    for life in lives:
        if life.span.name in samples:
            by_machine.setdefault(life.machine or life.span.host, []).append(life)
    others: dict[str, float] = {}
    for members in by_machine.values():
        busy, own = None, 0.0
        for life in members:
            series = samples[life.span.name]
            if not series:
                continue
            whole = _at(series, start), _at(series, end)
            if busy is None and whole[0] is not None and whole[1] is not None:
                busy = whole[1][0] - whole[0][0]
            # A worker that joined or left inside the window counts for the part it lived.
            a = _at(series, min(max(start, series[0][0]), series[-1][0]))
            b = _at(series, max(min(end, series[-1][0]), series[0][0]))
            if a is not None and b is not None:
                own += b[1] - a[1]
        if busy is None:
            continue
        hosts = ", ".join(sorted({life.span.host for life in members}))
        others[hosts] = round(max(0.0, busy - own) / (end - start), 3)
    if not others:
        return None
    worst = max(others.values())
    return {
        "others_cores": others,
        "max_others_cores": worst,
        "threshold_cores": BUSY_OTHERS_CORES,
        "busy": worst > BUSY_OTHERS_CORES,
    }
