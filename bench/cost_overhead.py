"""What measuring a job's cost (`worker.cost_book.measured`) adds to a tiny job, A/B in one
process: the queue strategy's one-URL jobs run as a worker runs them (`worker.jobs.run_tasks`,
recorder and all), in alternating blocks with the measuring on and off, so a busy machine's
swings fall on both alike.

    python -m bench.cost_overhead [jobs per block] [blocks]

It starts a private stack (`bench.stack`: redis-server and origin on free ports), and prints
the median per-job CPU time of the process and wall time, on and off.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time

from bench.client_cpu import store_run
from bench.measure import urls
from bench.stack import Stack
from contract.plan import RunTasks
from producer.connection import connect
from worker import cost_book, jobs


def main(per_block: int = 200, blocks: int = 10) -> str:
    with Stack.private("fanout-cost-overhead-") as stack:
        os.environ.update(stack.env)  # worker.jobs reads its settings from there
        settings = stack.settings
        redis = connect(settings)
        measured = cost_book.measured  # what worker.jobs calls, switched off and on below
        results: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for block in range(blocks + 1):
            on = block % 2 == 0
            jobs.__dict__["measured"] = measured if on else (lambda *_: contextlib.nullcontext())
            batch = urls(stack.origin_url, per_block, 0, 64)
            run_id = store_run(redis, settings, batch, "queue", 1)
            cpu, wall = time.process_time(), time.perf_counter()
            for index, url in enumerate(batch):
                jobs.run_tasks(
                    *RunTasks(run_id, index, [[index, url]], "queue", 1, "fetch").to_args()
                )
            if block:  # the first block warms the process up
                cpu_s, wall_s = time.process_time() - cpu, time.perf_counter() - wall
                results[on].append((cpu_s / per_block, wall_s / per_block))
        jobs.__dict__["measured"] = measured
        cost_book.write_pending()  # while the private Redis still answers

    def median(on: bool, which: int) -> float:
        return statistics.median(sample[which] for sample in results[on]) * 1e6

    return (
        f"per one-URL job, median of {blocks // 2} blocks of {per_block} each way: "
        f"CPU {median(True, 0):.0f} µs measured vs {median(False, 0):.0f} µs not "
        f"({median(True, 0) / median(False, 0):.3f}x); wall {median(True, 1):.0f} µs vs "
        f"{median(False, 1):.0f} µs ({median(True, 1) / median(False, 1):.3f}x)"
    )


if __name__ == "__main__":
    print(main(*(int(arg) for arg in sys.argv[1:3])))
