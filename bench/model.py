"""What a scenario hands the report: series of samples, checks against targets, notes."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Series:
    """One thing measured `reps` times. Each sample maps metric names to numbers.

    `ref` names the baseline series (same scenario) that this one is quoted against; `chart`
    and `workers` place it on the scaling chart.
    """

    label: str
    baseline: bool = False
    ref: str | None = None
    chart: str | None = None
    workers: int | None = None
    samples: list[dict[str, float]] = field(default_factory=list)

    def add(self, **metrics: float | None) -> None:
        self.samples.append({k: float(v) for k, v in metrics.items() if v is not None})

    def values(self, metric: str) -> list[float]:
        return [s[metric] for s in self.samples if metric in s]

    def median(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.median(values) if values else None


@dataclass
class Check:
    """One line of the targets table. `ok` is None when the target could not be judged."""

    target: str
    measured: str
    baseline: str
    ok: bool | None


@dataclass
class Outcome:
    """A scenario's result. `columns` are (metric, header) pairs shown in its table; `ratio`
    is the metric each series is divided by its `ref` baseline on (lower is better)."""

    name: str
    title: str
    columns: list[tuple[str, str]]
    series: list[Series] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ratio: str | None = "wall_s"
    error: str | None = None
    seconds: float = 0.0
    #: Cores that processes other than the bench's kept busy meanwhile (a shared machine).
    others_cores: float | None = None
    #: A paragraph on what the numbers say, written after reading them (`harness.comment`).
    comment: str = ""

    def new(self, label: str, **kwargs: Any) -> Series:
        series = Series(label, **kwargs)
        self.series.append(series)
        return series

    def get(self, label: str) -> Series:
        return next(s for s in self.series if s.label == label)

    def check(self, target: str, measured: str, baseline: str, ok: bool | None) -> None:
        self.checks.append(Check(target, measured, baseline, ok))


#: The header of each metric that fanout's runs measure (`bench.measure.fanout_run`).
HEADERS = {
    "wall_s": "wall s",
    "eff": "eff (nominal)",
    "summary_eff": "eff (fanout summary)",
    "tput": "tasks/s",
    "origin_cpu": "origin CPU (cores)",
    "span_s": "first start to last end s",
}


def columns(*metrics: str) -> list[tuple[str, str]]:
    """(metric, header) pairs of an `Outcome`'s table, headers from `HEADERS`."""
    return [(metric, HEADERS[metric]) for metric in metrics]


def within(
    value: float | None, at_least: float = -math.inf, at_most: float = math.inf
) -> bool | None:
    """A check's verdict: whether `value` is within its bounds; None (not judged) when it was
    not measured."""
    return None if value is None else at_least <= value <= at_most


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
