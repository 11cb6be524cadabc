"""Where one queue job's Redis commands and worker CPU go: `python -m bench.job_costs [N]`.

On a private stack (bench.stack), N one-URL jobs of the `queue` strategy (`/delay/0`, 64-byte
bodies) are enqueued, then run by one FanoutSimpleWorker in this process, in burst mode, twice:

* under MONITOR, each command is counted by family (RQ's keys, fanout's keys, commands run inside
  fanout's task-writer script) and by side (the submission, the worker);
* under cProfile with a thread-CPU clock, the worker's main thread is split by phase of RQ's job
  loop; the profile's overhead inflates every phase, so the shares are quoted, scaled to the CPU
  per job of an unprofiled burst (all threads, `time.process_time`).
"""

from __future__ import annotations

import collections
import cProfile
import os
import pstats
import sys
import threading
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import redis as redis_lib
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job
from rq.registry import FinishedJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.suspension import WORKERS_SUSPENDED

from bench.measure import submit_only, urls
from bench.stack import Stack
from contract import keys

#: (label, function name, a part of its file's path) of the phases of RQ's job loop. Where fanout
#: overrides a phase (worker/), the outermost override is counted: it includes RQ's, if called.
PHASES = [
    ("dequeue (BLMOVE, job HGETALL, state, heartbeats)", "dequeue_job_and_maintain_ttl", ""),
    ("prepare_execution (RQ's execution record)", "prepare_execution", ""),
    ("prepare_job_execution (start transaction)", "prepare_job_execution", ""),
    ("handle_execution_ended (RQ's job heartbeat)", "handle_execution_ended", ""),
    ("handle_job_success (end transaction, counters)", "handle_job_success", ""),
    ("set_state (all calls, the dequeue's too)", "set_state", ""),
    ("heartbeat (all calls, the dequeue's too; counters)", "heartbeat", ""),
    ("check_for_suspension", "check_for_suspension", ""),
    ("Job.perform (RQ's PERSIST, then the job)", "perform", ""),
    ("fanout run_tasks (the job)", "run_tasks", "worker/jobs"),
    ("  of which the fetch (requests)", "fetch", "worker/fetch_sync"),
    ("  of which the recorder's final flush (EVALSHA)", "__exit__", "worker/recorder"),
]


def _prefix(template: str) -> str:
    """A key's fixed head, from the template RQ or contract/keys.py builds it with."""
    return template.split("{", 1)[0]


#: Key heads by the code that writes them, each from its owner's own builder.
FAMILIES = (
    (Worker.redis_worker_namespace_prefix, "RQ worker hash"),
    (_prefix(Execution.key.fget(SimpleNamespace(composite_key="{0}"))), "RQ execution records"),  # type: ignore[attr-defined]  # mypy does not see the property object on the class
    (_prefix(Result.get_key("{0}")), "RQ result stream"),
    (_prefix(StartedJobRegistry.key_template), "RQ registries"),
    (_prefix(FinishedJobRegistry.key_template), "RQ registries"),
    (Queue.redis_queue_namespace_prefix, "RQ queue"),
    (WORKERS_SUSPENDED, "RQ suspension check"),
)


def family(key: str, lua: bool) -> str:
    """Which code a command belongs to, by its key."""
    if lua:
        return "fanout task writer (inside its script)"
    if key.startswith(keys.PREFIX):
        return "fanout heartbeat, reconcile, finalize"
    for prefix, name in FAMILIES:
        if key.startswith(prefix):
            return name
    if key.startswith(Job.redis_job_namespace_prefix):
        return "RQ dependents" if "depend" in key else "RQ job hash"
    return "RQ MULTI/EXEC" if key in ("", "MULTI", "EXEC") else f"other ({key.split(':')[0]})"


def burst(stack: Stack, count: int, around: Callable[[Callable[[], None]], None]) -> str:
    """Submit one queue run of `count` URLs, then run a burst worker inside `around`."""
    from contract.settings import Settings
    from worker.process import run_worker

    run_id = submit_only(stack, urls(stack.origin_url, count, 0, 64), "queue", 1)
    around(lambda: run_worker(Settings.from_env(), burst=True, logging_level="WARNING"))
    return run_id


def monitored(
    stack: Stack, count: int, verbs: collections.Counter[tuple[str, str, str]]
) -> collections.Counter[tuple[str, str]]:
    """Commands per (side, family) over a submission and its burst, under MONITOR; `verbs`
    gets them by (side, family, command name) too."""
    listener = redis_lib.Redis.from_url(stack.env["REDIS_URL"])
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def listen() -> None:
        with listener.monitor() as monitor:
            for command in monitor.listen():
                seen.append(command)
                if stop.is_set():
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    time.sleep(0.3)
    stack.client.set("bench:job-costs:start", 1)
    burst(stack, count, lambda run: run())
    stack.client.set("bench:job-costs:end", 1)
    stop.set()
    stack.client.ping()
    thread.join(2)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    inside, mine, side = False, "", "worker"
    for command in seen:
        text = command["command"]
        if text.startswith("SET bench:job-costs:"):
            inside = text.startswith("SET bench:job-costs:start")
            mine = f"{command['client_address']}:{command['client_port']}"
            continue
        if not inside:
            continue
        lua = command["client_type"] == "lua"
        if not lua:  # a script's commands belong to its caller
            address = f"{command['client_address']}:{command['client_port']}"
            side = "submit" if address == mine else "worker"
        parts = text.split(" ")
        key = parts[1].strip('"') if len(parts) > 1 else parts[0]
        name = "fanout task writer (EVALSHA call)" if parts[0] == "EVALSHA" else family(key, lua)
        counts[(side, name)] += 1
        verbs[(side, name, parts[0].strip('"').upper())] += 1
    return counts


def profiled(stack: Stack, count: int) -> tuple[float, list[tuple[str, float]]]:
    """(CPU ms per job unprofiled, [(phase, share of the profiled main thread)])."""
    cpu: list[float] = []

    def timed(run: Callable[[], None]) -> None:
        started = time.process_time()
        run()
        cpu.append(time.process_time() - started)

    burst(stack, count, timed)
    profile = cProfile.Profile(time.thread_time)
    burst(stack, count, lambda run: profile.runcall(run))
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]  # undocumented, untyped in typeshed

    def cumulative(name: str, where: str) -> float:
        """The outermost of the functions so named: an override's time includes RQ's."""
        found = [v[3] for (f, _, n), v in stats.items() if n == name and where in f]
        return max(found, default=0.0)

    total = cumulative("work", "rq/worker/base")
    shares = [(label, cumulative(name, where) / total) for label, name, where in PHASES]
    return cpu[0] / count * 1000, shares


def main(count: int) -> None:
    with Stack.private("fanout-job-costs-") as stack:
        os.environ.update(stack.env)
        burst(stack, 30, lambda run: run())  # warm: sessions, scripts, imports
        verbs: collections.Counter[tuple[str, str, str]] = collections.Counter()
        counts = monitored(stack, count, verbs)
        cpu_ms, shares = profiled(stack, count)
    print(f"Redis commands per job ({count} one-URL queue jobs, MONITOR):")
    for (side, name), calls in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {calls / count:6.2f}  {side:6}  {name}")
    print(f"  {sum(counts.values()) / count:6.2f}  total")
    print("The worker's by command (those at 0.05 a job or more):")
    for (side, name, verb), calls in sorted(verbs.items(), key=lambda item: (item[0][1], -item[1])):
        if side == "worker" and calls / count >= 0.05:
            print(f"  {calls / count:6.2f}  {verb:16} {name}")
    print(f"Worker CPU per job, unprofiled: {cpu_ms:.2f} ms; by phase (profiled shares):")
    for label, share in shares:
        print(f"  {share:6.1%}  ~{share * cpu_ms:.2f} ms  {label}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
