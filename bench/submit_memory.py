"""How much one submission costs the submitting process and Redis, for a big batch.

    REDIS_URL=redis://127.0.0.1:6390/0 python -m bench.submit_memory queue 100000

Use a scratch Redis that no worker listens to: the run is submitted, never run.
"""

from __future__ import annotations

import os
import resource
import sys
import time

from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy, Workload
from producer.connection import connect, fanout_queue
from producer.submit import submit_run


def main(strategy: str, count: int) -> str:
    settings = Settings.from_env(os.environ)
    redis = connect(settings)
    urls = tuple(f"http://127.0.0.1:8081/delay/0?n={i}" for i in range(count))
    spec = RunSpec(urls, Strategy(strategy), 8, Workload.FETCH)
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    redis_before = redis.info("memory")["used_memory"]
    started = time.perf_counter()
    submit_run(redis, fanout_queue(redis), spec, settings)
    took_s = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    redis_after = redis.info("memory")["used_memory"]
    return (
        f"{strategy} x {count}: submitted in {took_s:.2f} s, process peak RSS "
        f"+{(peak_kb - base_kb) / 1024:.0f} MB, Redis +{(redis_after - redis_before) / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    print(main(sys.argv[1], int(sys.argv[2])))
