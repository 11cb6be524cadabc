"""Names of the worker's job functions: the producer enqueues by dotted path, never by import."""

from __future__ import annotations

#: run_tasks(*contract.plan.RunTasks(...).to_args()): one part of a run, [[index, url], ...].
RUN_TASKS = "worker.jobs.run_tasks"

#: A no-op job, used by benchmarks to measure the queue's own cost per job.
NOOP = "worker.jobs.noop"

#: How long RQ keeps a finished job and its result. fanout keeps its own records, so RQ's are
#: not needed (its result stream cost ~4.8 KB a job). Not 0: RQ 2.12 deletes a job with TTL 0
#: through a path that costs 4-5 more round trips per job (status reads, LREM, ZREM), which made
#: a one-URL job 1.3x a bare RQ fetch job; 1 s made it 1.06-1.09x (bench queue-overhead).
RESULT_TTL_S = 1
