"""`python -m bench.cli_latency [--runs N] [--out FILE]`: what the `fanout run` command adds
around a run, on a private stack (bench.stack): from its launch to the run's submission, and
from the run's last task's end to its last task line (the read that sees the run ended), to
the summary on stdout and to the command's exit.

Each run is one `python -m fanout run` process, as a user types it, over a small batch on the
local origin; the times are taken from the run's own record (its `submitted_at`, its last task's
end) and from when each line reached the pipe, all on this machine's clock.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from bench.stack import Stack, WorkerSet
from contract import keys
from producer.presets import local_demo
from producer.reader import load_run

#: The line that starts the summary (`fanout.report.summary_lines`).
SUMMARY_START = "[i] Time transcurred"
#: How a task's line starts (`fanout.report.task_line`).
TASK_LINE_STARTS = ("[+] ", "[-] ")


def _stamped_lines(stream: Iterable[str], into: list[tuple[float, str]]) -> threading.Thread:
    def read() -> None:
        for line in stream:
            into.append((time.time(), line.rstrip("\n")))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def one_run(stack: Stack, urls: list[str], args: list[str]) -> dict[str, float]:
    """One `fanout run` command, timed: seconds from launch to submission, from the last task's
    end to the summary's first line and to the exit."""
    out: list[tuple[float, str]] = []
    err: list[tuple[float, str]] = []
    launched = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fanout", "run", *urls, *args],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None  # both piped
    readers = [_stamped_lines(proc.stdout, out), _stamped_lines(proc.stderr, err)]
    proc.wait(timeout=120)
    exited = time.time()
    for reader in readers:
        reader.join(5)
    if proc.returncode != 0:
        raise RuntimeError(f"fanout run exited {proc.returncode}: {err}")
    run_id = next(line for _, line in err if "submitted" in line).split("run ")[1].split()[0]
    record = load_run(stack.client, run_id, include_tasks=False)
    last_end = float(stack.client.hget(keys.run_key(run_id), "t_last") or 0)
    summary_at = next((at for at, line in out if line.startswith(SUMMARY_START)), exited)
    sampled_at = first_sample_after(stack, record["finished_at"])
    task_lines = [at for at, line in out if line.startswith(TASK_LINE_STARTS)]
    return {
        "launch_to_submit_s": record["submitted_at"] - launched,
        # The last task's line comes from the read that sees the run ended.
        "end_to_last_line_s": task_lines[-1] - last_end,
        "end_to_summary_s": summary_at - last_end,
        "end_to_exit_s": exited - last_end,
        # The run is final with the first CPU sample after its end: the workers' cadence...
        "end_to_sample_s": sampled_at - last_end,
        # ...and what the command takes from there.
        "sample_to_summary_s": summary_at - sampled_at,
    }


def first_sample_after(stack: Stack, when: float) -> float:
    """When the first worker CPU sample after `when` was taken (what makes a run final)."""
    names = cast("list[bytes]", stack.client.hkeys(keys.worker_spans_key()))
    pipe = stack.client.pipeline(transaction=False)
    for name in names:
        pipe.zrangebyscore(keys.worker_cpu_key(name.decode()), when, "+inf", 0, 1, withscores=True)
    firsts = [found[0][1] for found in pipe.execute() if found]
    return min(firsts, default=float("nan"))


def _stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return (
        f"median {statistics.median(ms):6.0f} ms  min {ms[0]:6.0f}  max {ms[-1]:6.0f}"
        f"  (n={len(ms)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--delay-ms", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="time `fanout run --json`")
    parser.add_argument("--out", type=Path, help="write the measurements as JSON here")
    opts = parser.parse_args(argv)
    with Stack.private("fanout-cli-latency-") as stack:
        stack.set_workers(WorkerSet("fanout", "simple", opts.workers))
        urls = list(local_demo(stack.origin_url, opts.tasks, opts.delay_ms))
        args = ["-s", "threads", "-c", "4", *(["--json"] if opts.json else [])]
        one_run(stack, urls, args)  # warm: the first run pays for cold caches
        measured = []
        for _ in range(opts.runs):
            # The workers sample their CPU once a second, and a run is final with the first
            # sample after its end: runs started back to back would end at one phase of those
            # seconds, the same for every run. A random pause spreads the phases.
            time.sleep(random.uniform(0.0, 1.0))
            measured.append(one_run(stack, urls, args))
    load = os.getloadavg()[0]
    print(f"cli latency over {opts.runs} runs (load average {load:.2f}):")
    for name in measured[0]:
        print(f"  {name:20} {_stats([m[name] for m in measured])}")
    if opts.out:
        opts.out.write_text(json.dumps({"load": load, "runs": measured}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
