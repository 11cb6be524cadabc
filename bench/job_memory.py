"""What one big local-concurrency job costs the worker process that runs it: peak RSS and CPU.

    REDIS_URL=redis://127.0.0.1:6390/0 ORIGIN_URL=http://127.0.0.1:8091 \\
        python -m bench.job_memory asyncio 100000

The job runs in this process, as a worker runs it (`worker.jobs.run_tasks`, recording to Redis),
against the origin at ORIGIN_URL (`fanout origin --port 8091`). Use a scratch Redis that no worker
listens to: the run's jobs are stored, then dropped, and this process runs the one job itself.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from bench.client_cpu import fanout_job, store_run
from bench.measure import urls
from contract import keys
from contract.settings import Settings
from producer.connection import connect

CONCURRENCY = 64


def main(strategy: str, count: int) -> str:
    settings = Settings.from_env(os.environ)
    redis = connect(settings)
    batch = urls(settings.origin_url, count, 0, 64)
    run_id = store_run(redis, settings, batch, strategy, CONCURRENCY)
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu, wall = time.process_time(), time.perf_counter()
    fanout_job(batch, run_id, strategy, CONCURRENCY)
    cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ok = int(redis.hget(keys.run_key(run_id), "n_ok") or 0)
    return (
        f"{strategy} x {count} (C={CONCURRENCY}): {ok} ok in {wall_s:.1f} s, process peak RSS "
        f"{peak_kb / 1024:.0f} MB ({base_kb / 1024:.0f} MB before the job), "
        f"client CPU {cpu_s / count * 1e6:.0f} µs a task"
    )


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
