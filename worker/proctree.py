"""A host's process tree, as `ps -f --forest` shows it, published to Redis once a second.

The supervisor (`worker.supervisor`) walks its own descendants (`/proc`, psutil): its RQ workers, a
fork worker's work-horse, and the children of a `processes` job's pool (`worker.pools`), with
each one's threads, resident memory and CPU. The snapshot goes to `keys.proc_tree_key(host)`
with a TTL of `keys.PROC_TREE_TTL_S`, so a host that stops publishing leaves the pages within
seconds; `fanout ps` and the Workers page read it (`producer.proctree`), from any machine.

A pool child's state is its worker's: `busy` while the worker runs a `processes` job, else
`idle`: the pool outlives the job (`worker.pools.process_pool` keeps it while its size fits the
next job) and its children wait, idle, for the next one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.job import Job
from rq.scheduler import SCHEDULER_KEY_TEMPLATE, RQScheduler

from contract import keys, replies
from contract.plan import described_strategy
from contract.states import Strategy
from worker import identity

if TYPE_CHECKING:
    from worker.supervisor import ElasticPool

log = logging.getLogger(__name__)

#: Longest command line kept per process: enough to tell `fanout worker --pool 2` apart.
CMD_CHARS = 120

#: Job descriptions remembered, to read each job's once rather than every second.
DESCRIPTIONS_KEPT = 64


def child_pids(pid: int) -> list[int]:
    """The processes `pid` forked, from `/proc/<pid>/task/<tid>/children`: a few small reads,
    where psutil's `children()` reads every process on the machine (10 ms for 300). A child
    forked while the lists are read may be missed: it shows in the next second's tree."""
    if not _CHILDREN_FILES:
        with contextlib.suppress(psutil.Error):
            return [child.pid for child in psutil.Process(pid).children()]
        return []
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # the thread ended
    return found


#: Linux lists each thread's children (CONFIG_PROC_CHILDREN, on in the usual kernels).
_CHILDREN_FILES = os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


@dataclass(frozen=True)
class WorkerSlot:
    """One worker the supervisor runs, as its pool knows it."""

    name: str
    pid: int
    retiring: bool


def short_cmd(cmdline: list[str]) -> str:
    """The command line with the interpreter's directory dropped, cut to CMD_CHARS."""
    if not cmdline:
        return ""
    parts = [os.path.basename(cmdline[0]), *cmdline[1:]]
    text = " ".join(parts)
    return text if len(text) <= CMD_CHARS else text[: CMD_CHARS - 1] + "…"


class ProcTree:
    """Walks the supervisor's process tree and publishes it; `publish` is a supervisor tick.

    Processes seen before are kept, so psutil's `cpu_percent` measures each over the second
    since the last tick (a new Process object would report 0 the first time)."""

    def __init__(
        self,
        redis: Redis,
        host: Callable[[], str],
        workers: Callable[[], Iterable[WorkerSlot]],
        *,
        fork_workers: bool = False,
    ) -> None:
        self.redis = redis
        self.host = host
        self.workers = workers
        self.fork_workers = fork_workers
        self.root = psutil.Process()
        self._seen: dict[int, psutil.Process] = {}
        self._descriptions: dict[str, str | None] = {}
        self._schedulers: dict[str, int] = {}  # RQ scheduler name -> its pid here, or 0
        self.cost_s = 0.0  # CPU seconds the last publish took

    # --- what the workers are doing (RQ's own hashes) ----------------------------------------

    def _rq_view(self, slots: list[WorkerSlot]) -> tuple[dict[str, tuple[str, str | None]], int]:
        """(worker name -> (RQ state, strategy of the job in hand), pid of RQ's scheduler on
        this host or 0). One round trip, and one more only for a job or scheduler not seen
        before."""
        pipe = self.redis.pipeline(transaction=False)
        for slot in slots:
            pipe.hmget(Worker.redis_worker_namespace_prefix + slot.name, "state", "current_job")
        pipe.get(RQScheduler.get_locking_key(keys.QUEUE_NAME))
        *worker_rows, lock = pipe.execute()
        rows = {}
        for slot, (state, job) in zip(slots, worker_rows, strict=True):
            rows[slot.name] = (replies.text(state) or "starting", replies.text(job) or None)
        scheduler = replies.text(lock) or ""
        new = sorted({job for _, job in rows.values() if job and job not in self._descriptions})
        if new or (scheduler and scheduler not in self._schedulers):
            if len(self._descriptions) > DESCRIPTIONS_KEPT:
                self._descriptions.clear()
            pipe = self.redis.pipeline(transaction=False)
            for job_id in new:
                pipe.hget(Job.key_for(job_id), "description")
            if scheduler and scheduler not in self._schedulers:
                pipe.hmget(SCHEDULER_KEY_TEMPLATE % scheduler, "pid", "hostname")
            answers = pipe.execute()
            for job_id, description in zip(new, answers, strict=False):
                self._descriptions[job_id] = replies.text(description) or None
            if scheduler and scheduler not in self._schedulers:
                pid, hostname = (replies.text(value) or "" for value in answers[-1])
                here = hostname == identity.host() and pid.isdigit()
                self._schedulers = {scheduler: int(pid) if here else 0}
        states = {
            name: (state, described_strategy(self._descriptions.get(job)) if job else None)
            for name, (state, job) in rows.items()
        }
        return states, self._schedulers.get(scheduler, 0)

    # --- the tree ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The tree, depth first, each process after its parent (as `ps --forest` lists them)."""
        slots = {slot.pid: slot for slot in self.workers()}
        try:
            states, scheduler_pid = self._rq_view(list(slots.values()))
        except RedisError:
            states, scheduler_pid = {}, 0
        seen: dict[int, psutil.Process] = {}
        ordered: list[dict[str, Any]] = []

        def visit(pid: int, depth: int, worker: WorkerSlot | None) -> None:
            kept = self._seen.get(pid)
            try:  # the pid's process of the last tick, unless the pid is another's now
                process = kept if kept is not None and kept.is_running() else psutil.Process(pid)
            except psutil.Error:
                return
            row = _describe(process)
            if row is None:
                return
            seen[pid] = process
            row["depth"] = depth
            if depth == 1 and pid in slots:
                worker = slots[pid]
            state, strategy = states.get(worker.name, ("?", None)) if worker else ("", None)
            if depth == 0:
                role, state = "supervisor", "running"
            elif depth == 1 and pid in slots:
                role, state = "worker", "stopping" if slots[pid].retiring else state
            elif worker is None:
                role = "other"
            elif pid == scheduler_pid:
                role, state = "scheduler", "running"
            else:
                horse = self.fork_workers and depth == 2
                working = state == "busy" and (horse or strategy == Strategy.PROCESSES.value)
                role, state = "horse" if horse else "child", "busy" if working else "idle"
            row |= {"role": role, "state": state, "worker": worker.name if worker else None}
            ordered.append(row)
            for child in sorted(child_pids(pid)):
                visit(child, depth + 1, worker)

        visit(self.root.pid, 0, None)
        self._seen = seen
        return {"processes": ordered}

    def publish(self) -> None:
        """One tick: the snapshot to Redis, with the CPU the previous one cost."""
        started = time.thread_time()
        try:
            tree = self.snapshot()
            host = self.host()
            tree |= {
                "host": host,
                "hostname": identity.host(),
                "at": time.time(),
                "cost_ms": round(self.cost_s * 1000, 2),
                "fork_workers": self.fork_workers,
            }
            self.redis.set(keys.proc_tree_key(host), json.dumps(tree), ex=keys.PROC_TREE_TTL_S)
        except RedisError:
            log.debug("process tree not published", exc_info=True)
        finally:
            self.cost_s = time.thread_time() - started


def _describe(process: psutil.Process) -> dict[str, Any] | None:
    """pid, ppid, name, command, threads, RSS and CPU % of one process; None if it is gone."""
    try:
        with process.oneshot():
            return {
                "pid": process.pid,
                "ppid": process.ppid(),
                "name": process.name(),
                "cmd": short_cmd(process.cmdline()),
                "threads": process.num_threads(),
                "rss": process.memory_info().rss,
                "cpu": round(max(0.0, process.cpu_percent(None)), 1),
                "status": process.status(),
            }
    except psutil.Error:
        return None


def for_pool(pool: ElasticPool) -> ProcTree:
    """The tree of a supervisor's pool: its workers, and which of them are retiring."""

    def slots() -> list[WorkerSlot]:
        return [
            WorkerSlot(data.name, data.pid, data.name in pool.retiring)
            for data in list(pool.worker_dict.values())
        ]

    return ProcTree(
        pool.redis,
        lambda: pool.lease.name,
        slots,
        fork_workers=not issubclass(pool.worker_class, SimpleWorker),
    )
