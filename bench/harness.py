"""`fanout bench [--quick] [--out DIR]`: start a private stack, run every scenario, write the
report (RESULTS.md) and the scaling chart (scaling.svg) into DIR.

The full run repeats every scenario 3 times (about 10 minutes on 2 cores); `--quick` runs each
scenario once on reduced sizes (CI smoke, under 2 minutes), and its verdicts are indicative only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

import psutil

from bench.chart import scaling_svg
from bench.measure import Ctx
from bench.model import Check, Outcome, Series
from bench.report import machine_facts, render
from bench.scenarios import SCENARIOS
from bench.stack import Stack

REPORT_NAME = "RESULTS.md"
CHART_NAME = "scaling.svg"
DATA_NAME = "results.json"
#: The cpu workload's rounds in quick mode (the full run keeps the worker's default).
QUICK_CPU_ROUNDS = 100_000


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _summary(outcome: Outcome) -> str:
    if outcome.error:
        return f"{outcome.name}: FAILED after {outcome.seconds:.0f} s"
    checks = ", ".join(
        f"{c.measured} ({'ok' if c.ok else 'MISSED' if c.ok is False else '?'})"
        for c in outcome.checks
    )
    return f"{outcome.name}: {outcome.seconds:.0f} s  {checks}"


def _busy_s() -> tuple[float, float]:
    """(CPU seconds the whole machine was busy, CPU seconds of the bench's own processes)."""
    times = psutil.cpu_times()
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    own = sum(os.times()[:4])  # this process and its reaped children (baselines, bursts)
    for proc in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            cpu = proc.cpu_times()
            own += cpu.user + cpu.system + cpu.children_user + cpu.children_system
    return busy, own


def run_scenarios(ctx: Ctx, only: set[str] | None = None) -> list[Outcome]:
    outcomes = []
    for name, scenario in SCENARIOS:
        if only and name not in only:
            continue
        _say(f"{name} ...")
        started, (busy, own) = time.monotonic(), _busy_s()
        try:
            outcome = scenario(ctx)
        except Exception:
            outcome = Outcome(name, "did not finish", [], error=traceback.format_exc())
        outcome.seconds = time.monotonic() - started
        busy_after, own_after = _busy_s()
        others = max(0.0, (busy_after - busy) - (own_after - own)) / outcome.seconds
        outcome.others_cores = others
        outcome.notes.append(
            f"other processes on this machine (not the bench's) kept {others:.2f} of its "
            f"{os.cpu_count()} cores busy on average during this scenario"
        )
        outcomes.append(outcome)
        _say(_summary(outcome))
    return outcomes


def _outcome(data: dict) -> Outcome:
    series = [Series(**s) for s in data.pop("series")]
    checks = [Check(**c) for c in data.pop("checks")]
    data["columns"] = [tuple(c) for c in data["columns"]]
    return Outcome(**data, series=series, checks=checks)


def write_outputs(out_dir: Path, data: dict) -> None:
    """RESULTS.md and scaling.svg from the raw data (also kept, as results.json)."""
    outcomes = [_outcome(dict(o)) for o in data["outcomes"]]
    facts = [tuple(f) for f in data["facts"]]
    mode = "quick" if data["quick"] else "full"
    report = render(
        outcomes,
        facts,
        quick=data["quick"],
        reps=data["reps"],
        seconds=data["seconds"],
        chart_name=CHART_NAME,
        written_at=data["written_at"],
    )
    (out_dir / REPORT_NAME).write_text(report)
    subtitle = (
        f"{mode} run, median of {data['reps']}; {os.cpu_count()} cores; Python {facts[3][1]}, "
        f"RQ {facts[4][1]}, Redis {data['redis_version']}"
    )
    (out_dir / CHART_NAME).write_text(scaling_svg(outcomes, subtitle))


def rerender(out_dir: Path) -> None:
    """Write the report and chart again from results.json, without running anything."""
    write_outputs(out_dir, json.loads((out_dir / DATA_NAME).read_text()))


def main(quick: bool, out_dir: Path, only: set[str] | None = None) -> int:
    """Run the bench; returns 0 when every scenario ran (missed targets are reported, not
    failed on), 1 when one could not run. `only` limits the scenarios (for development)."""
    started = time.monotonic()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="fanout-bench-"))
    stack = Stack(work_dir, cpu_rounds=QUICK_CPU_ROUNDS if quick else None)
    ctx = Ctx(stack, quick=quick, reps=1 if quick else 3)
    _say(f"{'quick' if quick else 'full'} run; logs in {work_dir}")
    try:
        stack.start()
        redis_version = str(stack.client.info("server")["redis_version"])
        outcomes = run_scenarios(ctx, only)
    finally:
        stack.stop()
    data = {
        "quick": quick,
        "reps": ctx.reps,
        "seconds": time.monotonic() - started,
        "written_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "redis_version": redis_version,
        "facts": machine_facts(redis_version),
        "outcomes": [asdict(o) for o in outcomes],
    }
    (out_dir / DATA_NAME).write_text(json.dumps(data, indent=1))
    write_outputs(out_dir, data)
    _say(f"wrote {REPORT_NAME}, {CHART_NAME} and {DATA_NAME} in {out_dir}")
    failed = [o.name for o in outcomes if o.error]
    if failed:
        _say(f"scenarios that failed: {', '.join(failed)}; logs kept in {work_dir}")
        return 1
    shutil.rmtree(work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m bench.harness", description="Development entry: some scenarios only."
    )
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--render", action="store_true", help="rewrite the report from its JSON")
    options = parser.parse_args()
    if options.render:
        rerender(options.out)
        sys.exit(0)
    sys.exit(main(options.quick, options.out, set(options.scenarios) or None))
