"""Numbers with their units (by web/presentation.py's NUMBERS), durations, times ago and executors.

The only place the pages' numbers are written: the Jinja filters (web/views.py) are these, and a
live page places the server's fresh rendering rather than writing its own
(tests/web/test_one_rendering.py). The rounding itself (`fixed`) is producer/numbers.py's, the
CLI's, so the pages and the CLI agree too.
"""

from __future__ import annotations

import math
import time
from typing import Any

from contract.states import Strategy
from producer import numbers, proctree
from producer.numbers import fixed
from web.presentation import DASH, LANE_SEPARATOR, NUMBERS


def number(name: str, value: float | None) -> str:
    """`value` by the number format `name` of presentation.NUMBERS; the dash for None."""
    if value is None:
        return DASH
    fmt = NUMBERS[name]
    return fixed(value * fmt.scale, fmt.decimals, grouped=fmt.grouped) + fmt.unit


def count(value: float | None) -> str:
    """Thousands grouped: 1,234,567 (a fraction is rounded to a whole)."""
    return number("count", value)


def counted(value: float | None, noun: str) -> str:
    """A count and its noun, plural unless one: "1 URL", "20,000 URLs" (producer/numbers.py's
    rule, the CLI's); the dash and the plural for no count."""
    return f"{DASH} {noun}s" if value is None else numbers.counted(value, noun)


def mib(value_bytes: float | None) -> str:
    """Memory in MiB, as the CLI writes it (producer/numbers.py); the dash for None."""
    return DASH if value_bytes is None else numbers.mebibytes(value_bytes)


def millis(value_s: float | None) -> str:
    return number("millis", value_s)


def percent(fraction: float | None) -> str:
    return number("percent", fraction)


def times(factor: float | None) -> str:
    return number("times", factor)


def rate(per_s: float | None) -> str:
    return number("rate", per_s)


def seconds(value: float | None) -> str:
    """Seconds with a precision that suits their size: 0.253 s, 12.4 s, 3 min 05 s (from 120 s)."""
    if value is None:
        return DASH
    if not math.isfinite(value) or value < 10:
        return fixed(value, 3) + " s"
    if value < 120:
        return fixed(value, 1) + " s"
    minutes, rest = divmod(int(fixed(value, 0)), 60)
    return f"{minutes} min {rest:02d} s"


def ago(epoch_s: float | None, now: float | None = None) -> str:
    """12 s ago, 5 min ago, 1.5 h ago."""
    if epoch_s is None:
        return "never"
    delta = max(0.0, (time.time() if now is None else now) - epoch_s)
    if delta < 60:
        return fixed(delta, 0) + " s ago"
    if delta < 3600:
        return fixed(delta / 60, 0) + " min ago"
    return fixed(delta / 3600, 1) + " h ago"


def short_worker(name: str | None) -> str:
    """`producer.proctree.short_worker`, or the dash for none."""
    return proctree.short_worker(name) or DASH


def _lane(task: dict[str, Any], worker: str | None) -> str:
    parts = (task["host"], worker, task.get("pid"), task.get("thread"))
    return LANE_SEPARATOR.join("" if part is None else str(part) for part in parts)


def lane(task: dict[str, Any]) -> str:
    """The executor that ran a task, as the timeline names its lane."""
    return _lane(task, task.get("worker")) if task.get("host") else DASH


def short_lane(task: dict[str, Any]) -> str:
    """The lane with the worker's name shortened, for tables and chart axes."""
    return _lane(task, short_worker(task.get("worker"))) if task.get("host") else DASH


#: Strategies that do not take the run's concurrency: sequential runs one task at a time, queue
#: one task per job (its tasks in flight are the workers).
_NO_CONCURRENCY = {Strategy.SEQUENTIAL.value, Strategy.QUEUE.value}


def strategy_label(spec: dict[str, Any]) -> str:
    """The strategy, with its concurrency where the strategy uses it: "threads x 8", "queue"."""
    strategy = str(spec["strategy"])
    if strategy in _NO_CONCURRENCY:
        return strategy
    return f"{strategy} \u00d7 {spec['concurrency']}"


def peak_text(run: dict[str, Any]) -> str:
    """The run's peak concurrency. It is known once the run has ended (it needs every task's
    interval); until then, at least the tasks in flight now: "≥ 8"."""
    peak = run["summary"].get("peak_concurrency")
    if peak is not None:
        return count(peak)
    running = run["counts"].get("running") or 0
    return f"\u2265 {count(running)}" if running else DASH
