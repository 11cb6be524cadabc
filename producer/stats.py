"""Time series and totals over every run, read from the history keys the workers write.

The workers INCRBY `keys.throughput_key(second)` by the tasks that ended in that second (expiring
after `keys.HISTORY_TTL_S`); the live workers of each second come from the workers' spans
(`contract.fleet`), counted through the liveness window, so a beat that lands late on a busy host
does not make the line dip.
"""

from __future__ import annotations

import time
from typing import Any

from redis import Redis

from contract import fleet, keys, replies
from contract.states import TERMINAL_TASK_STATES, RunState, TaskState

#: The longest window a series can cover: older seconds have expired.
MAX_WINDOW_S = keys.HISTORY_TTL_S

#: Totals over at most this many of the newest runs, so a scrape stays a few milliseconds.
MAX_RUNS_COUNTED = 5000

_TERMINAL = sorted(state.value for state in TERMINAL_TASK_STATES)


def throughput_series(
    redis: Redis, *, window_s: int = 300, now: float | None = None
) -> dict[str, Any]:
    """Tasks ended and live workers per second over the last `window_s` complete seconds.

    The current second is left out: it is still filling, and would always look like a dip.
    """
    window_s = max(1, min(int(window_s), MAX_WINDOW_S))
    end = int(time.time() if now is None else now) - 1
    start = end - window_s + 1
    seconds = list(range(start, end + 1))
    tasks = [int(value or 0) for value in redis.mget([keys.throughput_key(s) for s in seconds])]
    workers = fleet.live_series(fleet.read_lives(redis, now=end + 1), seconds)
    return {
        "start": start,
        "end": end,
        "step_s": 1,
        "seconds": seconds,
        "tasks": tasks,
        "workers": workers,
        "total_tasks": sum(tasks),
        "peak_tasks_per_s": max(tasks, default=0),
    }


def _int(value: bytes | str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def task_totals(redis: Redis) -> dict[str, Any]:
    """Tasks by state and runs by state over the retained runs (newest `MAX_RUNS_COUNTED`).

    Terminal counts come from the `n_<state>` counters the workers HINCRBY; running and pending
    are derived for runs that are not done yet.
    """
    run_ids = replies.members(redis.zrevrange(keys.runs_index_key(), 0, MAX_RUNS_COUNTED - 1))
    fields = ["state", "total", "done", *(f"n_{state}" for state in _TERMINAL)]
    pipe = redis.pipeline(transaction=False)
    for run_id in map(replies.text, run_ids):
        pipe.hmget(keys.run_key(run_id), fields)
        pipe.hlen(keys.running_key(run_id))
    results = pipe.execute()
    tasks = {state.value: 0 for state in TaskState}
    runs = {state.value: 0 for state in RunState}
    for values, running in zip(results[0::2], results[1::2], strict=True):
        state = (values[0] or b"").decode()
        if state not in runs:
            continue  # expired between the index read and the hash read
        runs[state] += 1
        for name, value in zip(_TERMINAL, values[3:], strict=True):
            tasks[name] += _int(value)
        if state != RunState.DONE.value:
            total, done = _int(values[1]), _int(values[2])
            tasks[TaskState.RUNNING.value] += running
            tasks[TaskState.PENDING.value] += max(0, total - done - running)
    return {"tasks": tasks, "runs": runs, "runs_counted": len(run_ids)}
