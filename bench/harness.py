"""`python -m bench.harness [--quick] [--out DIR] [SCENARIO ...]`, from the repository root
(`make bench`; the bench is a development tool, not installed with the package): start a
private stack, run the scenarios, write the report (RESULTS.md) and the scaling chart
(scaling.svg) into DIR.

The full run repeats every scenario 3 times (about 10 minutes on 2 cores); `--quick` runs each
scenario once on reduced sizes (CI smoke, under 2 minutes), and its verdicts are indicative only.
The scenarios in `FULL_ONLY` are left out of `--quick` unless named.

Naming scenarios runs only those and splices them into DIR's results.json: their outcomes
replace the ones of the same name, the others are kept as they were measured, and the report
says which scenarios were measured later, when.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.chart import scaling_svg
from bench.measure import Ctx, busy_s, others_cores
from bench.model import Check, Outcome, Series
from bench.report import machine_facts, render
from bench.scenarios import FULL_ONLY, SCENARIOS
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


def chosen(quick: bool, only: set[str] | None = None) -> list[str]:
    """The scenarios to run, in order: `only` (all when None), less the full-only ones in
    quick mode unless named."""
    names = [name for name, _ in SCENARIOS]
    if only:
        unknown = only - set(names)
        if unknown:
            raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
        return [name for name in names if name in only]
    return [name for name in names if not (quick and name in FULL_ONLY)]


def run_scenarios(ctx: Ctx, only: set[str] | None = None) -> list[Outcome]:
    outcomes, scenarios = [], dict(SCENARIOS)
    for name in chosen(ctx.quick, only):
        _say(f"{name} ...")
        started, before = time.monotonic(), busy_s()
        try:
            outcome = scenarios[name](ctx)
        except Exception:
            outcome = Outcome(name, "did not finish", [], error=traceback.format_exc())
        outcome.seconds = time.monotonic() - started
        others = others_cores(before, busy_s(), outcome.seconds)
        outcome.others_cores = others
        outcome.notes.append(
            f"other processes on this machine (not the bench's) kept {others:.2f} of its "
            f"{os.cpu_count()} cores busy on average during this scenario"
        )
        outcomes.append(outcome)
        _say(_summary(outcome))
    return outcomes


def _outcome(data: dict[str, Any]) -> Outcome:
    series = [Series(**s) for s in data.pop("series")]
    checks = [Check(**c) for c in data.pop("checks")]
    data["columns"] = [tuple(c) for c in data["columns"]]
    return Outcome(**data, series=series, checks=checks)


def write_outputs(out_dir: Path, data: dict[str, Any]) -> None:
    """RESULTS.md and scaling.svg from the raw data (also kept, as results.json)."""
    outcomes = [_outcome(dict(o)) for o in data["outcomes"]]
    (out_dir / REPORT_NAME).write_text(render(outcomes, data, CHART_NAME))
    facts, mode = dict(data["facts"]), "quick" if data["quick"] else "full"
    subtitle = (
        f"{mode} run, median of {data['reps']}; {os.cpu_count()} cores; Python {facts['Python']}, "
        f"RQ {facts['RQ']}, Redis {data['redis_version']}"
    )
    (out_dir / CHART_NAME).write_text(scaling_svg(outcomes, subtitle))


def rerender(out_dir: Path) -> None:
    """Write the report and chart again from results.json, without running anything."""
    write_outputs(out_dir, json.loads((out_dir / DATA_NAME).read_text()))


def comment(out_dir: Path, name: str, text: str) -> None:
    """Keep a paragraph on what a scenario's numbers say in results.json, shown under its
    table; measuring the scenario again drops it (it spoke of other numbers)."""
    path = out_dir / DATA_NAME
    data = json.loads(path.read_text())
    outcome = next((o for o in data["outcomes"] if o["name"] == name), None)
    if outcome is None:
        raise ValueError(f"no scenario {name!r} in {path}")
    outcome["comment"] = text.strip()
    path.write_text(json.dumps(data, indent=1))
    write_outputs(out_dir, data)


def splice(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`old` with the outcomes of `new` in place of (or added beside) the ones of the same
    name, in the scenarios' order; the header stays `old`'s, and `spliced` says what is newer."""
    if old["quick"] != new["quick"]:
        raise ValueError("a quick run cannot be spliced into a full one's results, nor back")
    order = [name for name, _ in SCENARIOS]
    fresh = {o["name"]: o for o in new["outcomes"]}
    outcomes = [o for o in old["outcomes"] if o["name"] not in fresh] + list(fresh.values())
    outcomes.sort(key=lambda o: order.index(o["name"]) if o["name"] in order else len(order))
    earlier = [s for s in old.get("spliced", []) if not set(s["scenarios"]) <= set(fresh)]
    entry = {
        "scenarios": list(fresh),
        "written_at": new["written_at"],
        "seconds": new["seconds"],
        "load_average": new["load_average"],
    }
    skipped = [name for name in old.get("skipped", []) if name not in fresh]
    return old | {"outcomes": outcomes, "spliced": [*earlier, entry], "skipped": skipped}


def previous_results(quick: bool, out_dir: Path, only: set[str] | None) -> dict[str, Any] | None:
    """The results a run of `only` some scenarios is spliced into (None: a fresh file).
    ValueError when they are of the other mode."""
    path = out_dir / DATA_NAME
    if not only or not path.exists():
        return None
    old: dict[str, Any] = json.loads(path.read_text())
    if old["quick"] != quick:
        raise ValueError(
            f"{path} holds a {'quick' if old['quick'] else 'full'} run: splice into it "
            "in the same mode, or write elsewhere with --out"
        )
    return old


def main(quick: bool, out_dir: Path, only: set[str] | None = None) -> int:
    """Run the bench; returns 0 when every scenario ran (missed targets are reported, not
    failed on), 1 when one could not run. `only` limits the scenarios, spliced into the
    results already in `out_dir` (see `splice`)."""
    started = time.monotonic()
    out_dir.mkdir(parents=True, exist_ok=True)
    names = chosen(quick, only)
    old = previous_results(quick, out_dir, only)
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
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "redis_version": redis_version,
        "facts": machine_facts(redis_version),
        "outcomes": [asdict(o) for o in outcomes],
        "skipped": [name for name, _ in SCENARIOS if name not in names],
    }
    if old is not None:
        data = splice(old, data)
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
        prog="python -m bench.harness",
        description="Benchmark every strategy against bare baselines on a private stack.",
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        help="run only these (default: all), spliced into OUT/results.json: the other "
        "scenarios' results are kept. `scale` runs only when full or named.",
    )
    parser.add_argument("--quick", action="store_true", help="a reduced set (CI smoke)")
    parser.add_argument("--out", type=Path, default=Path("bench"))
    parser.add_argument("--render", action="store_true", help="rewrite the report from its JSON")
    parser.add_argument(
        "--comment",
        nargs=2,
        metavar=("SCENARIO", "FILE"),
        help="keep FILE's paragraph under SCENARIO's table in results.json, and re-render",
    )
    options = parser.parse_args()
    if options.comment:
        name, text_file = options.comment
        comment(options.out, name, Path(text_file).read_text())
        sys.exit(0)
    if options.render:
        rerender(options.out)
        sys.exit(0)
    only = set(options.scenarios) or None
    try:
        chosen(options.quick, only)
        previous_results(options.quick, options.out, only)
    except ValueError as exc:
        parser.error(str(exc))  # exit code 2, with the message
    sys.exit(main(options.quick, options.out, only))
