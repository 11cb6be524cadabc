"""The scaling chart, written as a small hand-made SVG: no plotting dependency, and a text file a
test (and a reviewer's diff) can read.

Two panels share the x axis (workers, log2 scale): throughput (tasks/s) and nominal efficiency,
one line per strategy, a dot at each median and a bar from the min to the max of the repetitions.
"""

from __future__ import annotations

import math
import statistics
from html import escape

from bench.model import Outcome, Series

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
WIDTH, HEIGHT = 1060, 450
PANEL_W, PANEL_H = 360, 270
LEFT, TOP = 80, 70


def chart_series(outcomes: list[Outcome]) -> dict[str, list[Series]]:
    """Series that carry a chart name and a worker count, grouped by chart name."""
    groups: dict[str, list[Series]] = {}
    for outcome in outcomes:
        for series in outcome.series:
            if series.chart and series.workers and series.samples:
                groups.setdefault(series.chart, []).append(series)
    for group in groups.values():
        group.sort(key=lambda s: s.workers or 0)
    return groups


def _log_ticks(values: list[float]) -> list[float]:
    """1-2-5 ticks over the decades that hold `values`."""
    low = math.floor(math.log10(max(min(values), 1e-3)))
    high = math.ceil(math.log10(max(values) * 1.05))
    ticks = [m * 10**exp for exp in range(low, high + 1) for m in (1, 2, 5)]
    return [t for t in ticks if t <= 10**high]


def _panel(
    x0: float,
    title: str,
    metric: str,
    groups: dict[str, list[Series]],
    ticks: list[float],
    target: float | None = None,
) -> list[str]:
    """One panel; a log y axis when `ticks` are 1-2-5 ticks over decades (throughput)."""
    workers = sorted({s.workers for group in groups.values() for s in group if s.workers})
    span = max(1.0, math.log2(max(workers or [1])))
    log = ticks[0] > 0
    y_min, y_max = ticks[0], ticks[-1]

    def px(w: float) -> float:
        return x0 + 20 + (PANEL_W - 40) * (math.log2(w) / span if span else 0.5)

    def py(v: float) -> float:
        v = min(max(v, y_min), y_max)
        if log:
            share = math.log10(v / y_min) / math.log10(y_max / y_min)
        else:
            share = (v - y_min) / (y_max - y_min)
        return TOP + PANEL_H - PANEL_H * share

    parts = [
        f'<text x="{x0 + PANEL_W / 2}" y="{TOP - 12}" text-anchor="middle" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<rect x="{x0}" y="{TOP}" width="{PANEL_W}" height="{PANEL_H}" fill="none" '
        'stroke="#888"/>',
    ]
    for value in ticks:
        y = py(value)
        label = f"{value:.1f}" if y_max <= 2 else f"{value:,.0f}"
        parts.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + PANEL_W}" y2="{y}" stroke="#eee"/>')
        parts.append(f'<text x="{x0 - 6}" y="{y + 4}" text-anchor="end">{label}</text>')
    for w in workers:
        parts.append(f'<text x="{px(w)}" y="{TOP + PANEL_H + 18}" text-anchor="middle">{w}</text>')
    parts.append(
        f'<text x="{x0 + PANEL_W / 2}" y="{TOP + PANEL_H + 38}" text-anchor="middle">workers</text>'
    )
    if target is not None:
        y = py(target)
        parts.append(
            f'<line x1="{x0}" y1="{y}" x2="{x0 + PANEL_W}" y2="{y}" stroke="#555" '
            'stroke-dasharray="5,4"/>'
            f'<text x="{x0 + PANEL_W - 4}" y="{y - 4}" text-anchor="end" fill="#555">'
            f"target {target:.2f}</text>"
        )
    for colour, group in zip(COLOURS, groups.values(), strict=False):
        points = [
            (s.workers, statistics.median(values), min(values), max(values))
            for s in group  # each charted series has a worker count (`chart_series`)
            if s.workers is not None and (values := s.values(metric))
        ]
        if len(points) > 1:
            path = " ".join(f"{px(w):.1f},{py(m):.1f}" for w, m, _, _ in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for w, m, low, high in points:
            x = px(w)
            parts.append(
                f'<line x1="{x}" y1="{py(low):.1f}" x2="{x}" y2="{py(high):.1f}" '
                f'stroke="{colour}" stroke-width="1.5"/>'
                f'<circle cx="{x}" cy="{py(m):.1f}" r="4" fill="{colour}"/>'
            )
    return parts


def scaling_svg(outcomes: list[Outcome], subtitle: str) -> str:
    """The chart; its caption is the first note of each scenario that has charted series."""
    groups = chart_series(outcomes)
    charted = {id(s) for g in groups.values() for s in g}
    captions = [
        f"{o.name}: {o.notes[0]}"
        for o in outcomes
        if o.notes and any(id(s) in charted for s in o.series)
    ]
    tputs = [v for g in groups.values() for s in g for v in s.values("tput")]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        '<text x="20" y="24" font-size="16" font-weight="bold">'
        "fanout scaling: throughput and efficiency against worker count</text>",
        f'<text x="20" y="42" fill="#444">{escape(subtitle)}</text>',
    ]
    if not groups:
        parts.append('<text x="20" y="120">no scaling data: the scaling scenarios failed</text>')
    else:
        ticks = _log_ticks(tputs)
        parts += _panel(LEFT, "throughput (tasks/s, log scale)", "tput", groups, ticks)
        eff_ticks = [i / 5 for i in range(6)]
        parts += _panel(LEFT + PANEL_W + 70, "efficiency (nominal)", "eff", groups, eff_ticks, 0.9)
        legend_x = LEFT + 2 * PANEL_W + 90
        for i, (colour, name) in enumerate(zip(COLOURS, groups, strict=False)):
            y = TOP + 10 + 22 * i
            parts.append(
                f'<rect x="{legend_x}" y="{y - 9}" width="14" height="10" fill="{colour}"/>'
                f'<text x="{legend_x + 20}" y="{y}">{escape(name)}</text>'
            )
        parts.append(
            f'<text x="{legend_x}" y="{TOP + PANEL_H}" fill="#555">dot: median</text>'
            f'<text x="{legend_x}" y="{TOP + PANEL_H + 16}" fill="#555">bar: min to max</text>'
        )
    for i, caption in enumerate(captions):
        y = TOP + PANEL_H + 62 + 16 * i
        parts.append(f'<text x="20" y="{y}" fill="#444">{escape(caption)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
