"""Every Redis key fanout writes is built here, under one prefix, so TTLs and cleanup stay honest.

RQ keeps its own keys (`rq:*`): fanout uses RQ's standard queues and registries so `rq info` and
rq-dashboard see its queues and workers. Those keys are built by RQ's own API (`Job.key_for`,
`queue.key`, `queue.intermediate_queue_key`, a registry's `key`, `worker.key`), never spelt out;
`tests/test_no_key_literals.py` fails on a key or job id written as a literal outside this module.
"""

from __future__ import annotations

import re

PREFIX = "fanout:"

#: Run and comparison ids as `producer.submit.new_id` makes them (`secrets.token_hex(6)`).
ID_PATTERN = "[0-9a-f]{12}"
_ID = re.compile(ID_PATTERN)


def is_id(text: str) -> bool:
    """Whether `text` is a run or comparison id: anything else (a `:running` suffix, a glob)
    would name another key, so it must never reach a key builder from a URL."""
    return _ID.fullmatch(text) is not None


#: The RQ queue fanout's jobs go to.
QUEUE_NAME = "fanout"

#: RQ's namespace: every key RQ writes starts with it (`tests/test_rq_contract.py` checks). Only
#: for scanning RQ's keys as a whole; one RQ key comes from RQ's API, never from this.
RQ_PREFIX = "rq:"


def run_key(run_id: str) -> str:
    """Hash: the run's spec (JSON), state, counters and timestamps."""
    return f"{PREFIX}run:{run_id}"


def tasks_key(run_id: str) -> str:
    """Hash: task index -> terminal task record (JSON). Written first-writer-wins."""
    return f"{PREFIX}run:{run_id}:tasks"


def order_key(run_id: str) -> str:
    """List: task indexes in the order they ended, so readers can fetch only what is new."""
    return f"{PREFIX}run:{run_id}:order"


def running_key(run_id: str) -> str:
    """Hash: task index -> start record (JSON) for tasks started and not yet ended."""
    return f"{PREFIX}run:{run_id}:running"


def urls_key(owner_id: str) -> str:
    """List: a run's URLs by index, kept apart from the run's hash so reading a run's state
    never reads its (up to 100,000) URLs. The runs of a comparison share their comparison's."""
    return f"{PREFIX}urls:{owner_id}"


def served_key(run_id: str) -> str:
    """Hash: worker name -> `host|first start|last end` of the tasks it ended for the run."""
    return f"{PREFIX}run:{run_id}:served"


def cost_key(run_id: str) -> str:
    """Hash: worker name -> JSON of what the run's jobs on that worker cost (`contract.cost`)."""
    return f"{PREFIX}run:{run_id}:cost"


def run_keys(run_id: str) -> tuple[str, ...]:
    """All keys of one run, for TTLs and deletion."""
    return (
        run_key(run_id),
        tasks_key(run_id),
        order_key(run_id),
        running_key(run_id),
        served_key(run_id),
        urls_key(run_id),
        cost_key(run_id),
    )


def ended_runs_key() -> str:
    """Set: runs whose last task has ended and that are not finalized yet (capacity snapshot,
    host load, the next run of their comparison)."""
    return f"{PREFIX}ended"


def run_ends_key() -> str:
    """Stream, capped: one entry per run's end (`run`: its id), written with its last task, so
    a producer that waits for a run blocks on a read (XREAD BLOCK) rather than polling it. One
    stream for every run: a stream costs ~4.7 KB even with one entry."""
    return f"{PREFIX}ends"


#: Entries the run-ends and beats streams keep (about; XADD MAXLEN ~): a second's worth and
#: more, so a waiter between two reads misses none (it reads the run anyway each second).
STREAM_KEPT = 1000


def active_comparisons_key() -> str:
    """Set: comparisons with runs not released yet; the reconcilers release them."""
    return f"{PREFIX}compare:active"


def runs_index_key() -> str:
    """Sorted set: run id scored by submission time (epoch seconds), newest last."""
    return f"{PREFIX}runs"


def comparison_key(comparison_id: str) -> str:
    """Hash: the comparison's spec and the run id of each strategy, in order."""
    return f"{PREFIX}compare:{comparison_id}"


def throughput_key(epoch_second: int) -> str:
    """Integer: tasks that ended during this second, over all runs."""
    return f"{PREFIX}tput:{epoch_second}"


def worker_spans_key() -> str:
    """Hash: worker name -> JSON {host, cores, machine, joined_at, left_at}: when each worker
    lived, for the capacity of queued runs and the live-worker history."""
    return f"{PREFIX}workers:spans"


def worker_cpu_key(worker_name: str) -> str:
    """Sorted set: `time busy own` CPU samples (seconds) scored by time: the machine's busy CPU
    and the worker's own (with its children), to tell how busy other processes kept the host."""
    return f"{PREFIX}workers:cpu:{worker_name}"


def worker_beats_key() -> str:
    """Stream, capped: one entry per worker CPU sample (`at`: its time), so a producer waiting
    for a run's host load wakes on the sample that brings it rather than polling."""
    return f"{PREFIX}workers:beats"


#: How long the per-second throughput and worker history is kept.
HISTORY_TTL_S = 3600

#: A worker whose last heartbeat in `alive_workers_key()` is older than this is dead.
ALIVE_TTL_S = 10


def alive_workers_key() -> str:
    """Sorted set: worker name scored by its last heartbeat (epoch seconds)."""
    return f"{PREFIX}alive"


def handled_key(rq_job_id: str) -> str:
    """Claimed (SET NX) by the one reconciler that recovers an abandoned or failed job."""
    return f"{PREFIX}handled:{rq_job_id}"


def stranded_key(rq_job_id: str) -> str:
    """When a reconciler first saw the job dequeued but never started (epoch seconds)."""
    return f"{PREFIX}stranded:{rq_job_id}"


def staging_key(run_id: str) -> str:
    """List: ids of a big run's jobs written but not queued yet (`producer.staging`)."""
    return f"{PREFIX}staging:{run_id}"


def idempotency_key(key_digest: str) -> str:
    """`<run id>:<batch fingerprint>` named by a client's Idempotency-Key (its SHA-256)."""
    return f"{PREFIX}idempotency:{key_digest}"


JOB_ID_PREFIX = "fanout-"


def job_id(run_id: str, part: int, attempt: int = 1) -> str:
    """RQ job id of one part of a run (a batch, a chunk or one URL) at one attempt."""
    return f"{job_id_prefix(run_id)}{part}-a{attempt}"


def job_id_prefix(run_id: str) -> str:
    """What every job id of one run starts with."""
    return f"{JOB_ID_PREFIX}{run_id}-"


def parse_job_id(rq_job_id: str) -> tuple[str, int, int] | None:
    """(run id, part, attempt) of a fanout job id; None for any other job (or RQ's
    `job_id:execution_id` registry entries' execution part)."""
    if not rq_job_id.startswith(JOB_ID_PREFIX):
        return None
    run_id, _, rest = rq_job_id[len(JOB_ID_PREFIX) :].partition("-")
    part, _, attempt = rest.partition("-a")
    attempt = attempt.partition(":")[0]
    if not (run_id and part.isdigit() and attempt.isdigit()):
        return None
    return run_id, int(part), int(attempt)


# --- scaling: the worker target, the hosts that follow it, the sweeps that move it ------------


def worker_target_key() -> str:
    """Hash {mode, n}: how many workers the web app asked for, `per_host` or in `total`. Absent
    until someone sets it; every supervisor then runs its own `--pool N`."""
    return f"{PREFIX}target"


def hosts_key() -> str:
    """Sorted set: host name scored by its supervisor's last beat (epoch seconds). A host with
    no worker is still live, which the workers' own heartbeats could not say."""
    return f"{PREFIX}hosts"


def host_info_key() -> str:
    """Hash: host name -> JSON {pid, running, stopping, share, max, pool}: what each supervisor
    runs, for the Workers page and the sweep's wait for an exact count."""
    return f"{PREFIX}hosts:info"


def host_lease_key(host: str) -> str:
    """String (expiring): the id of the one supervisor process that holds this host name, so a
    second `fanout worker` on the same machine takes another name instead of sharing a share."""
    return f"{PREFIX}hosts:lease:{host}"


#: How long a host's process tree outlives its last publication: a few of its once-a-second
#: beats, so a stopped or killed host's tree leaves the pages within seconds.
PROC_TREE_TTL_S = 5


def proc_tree_key(host: str) -> str:
    """String (expiring): JSON snapshot of one host's process tree (its supervisor, workers and
    their children), rewritten every second by its supervisor (`worker.proctree`)."""
    return f"{PREFIX}hosts:tree:{host}"


def sweep_key(sweep_id: str) -> str:
    """Hash: a scaling sweep's spec, state, step, points (JSON) and the target to restore."""
    return f"{PREFIX}sweep:{sweep_id}"


def sweep_driver_key(sweep_id: str) -> str:
    """String (expiring): the supervisor driving the sweep; its expiry means the driver died."""
    return f"{PREFIX}sweep:{sweep_id}:driver"


def sweeps_index_key() -> str:
    """Sorted set: sweep id scored by submission time (epoch seconds), newest last."""
    return f"{PREFIX}sweeps"


def current_sweep_key() -> str:
    """String: the id of the one sweep that owns the worker target until it ends (SET NX)."""
    return f"{PREFIX}sweep:current"


def rate_limits_prefix() -> str:
    """Where Flask-Limiter (the web app's rate limits) keeps its counters."""
    return f"{PREFIX}limits"
