"""Names of the worker's job functions: the producer enqueues by dotted path, never by import."""

from __future__ import annotations

#: run_tasks(run_id, part, tasks=[[index, url], ...], strategy, concurrency, workload, attempt)
RUN_TASKS = "worker.jobs.run_tasks"

#: A no-op job, used by benchmarks to measure the queue's own cost per job.
NOOP = "worker.jobs.noop"
