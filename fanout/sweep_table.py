"""A sweep as plain text: one row per worker count, then the fit (or why there is none)."""

from __future__ import annotations

from typing import Any

from fanout.report import DASH, worst_load
from producer.hostnote import busy_line


def _num(value: float | None, fmt: str) -> str:
    if value is None:
        return DASH.rjust(int(fmt.split(".")[0] or 0))
    return format(value, fmt)


def _marked_lines(sweep: dict[str, Any]) -> list[str]:
    """One line per marked point: what it did not measure, and whether the fit used it."""
    lines = []
    for point in sweep["points"]:
        if point.get("marks"):
            used = "fitted anyway" if point.get("fitted") else "left out of the fit"
            lines.append(f"[!] N = {point['workers']} {used}: {'; '.join(point['marks'])}")
    return lines


def _busy_line(points: list[dict[str, Any]]) -> str | None:
    """`run`'s and `compare`'s busy-host line, naming the worker counts whose runs met it."""
    busy = [point for point in points if point.get("busy")]
    if not busy:
        return None
    worst = worst_load(
        [point.get("others_by_host") for point in busy], [p.get("others_cores") for p in busy]
    )
    labels = [f"N = {point['workers']}" for point in busy]
    return busy_line(worst, "run the sweep again on a quiet host", labels)


def sweep_lines(sweep: dict[str, Any]) -> list[str]:
    spec = sweep["spec"]
    lines = [
        f"{spec['urls']} URLs, {spec['strategy']}, {spec['workload']}: sweep {sweep['state']}",
        f"{'workers':>7}  {'tasks/s':>8}  {'ideal':>8}  {'wall':>9}  {'efficiency':>10}"
        f"  {'others':>6}  run",
    ]
    fit = sweep.get("fit")
    slope = sweep["ideal"]["x"][0] if sweep.get("ideal") else None
    for point in sweep["points"]:
        ideal = slope * point["workers"] if slope else None
        lines.append(
            f"{point['workers']:>7}  {_num(point['throughput'], '8.2f')}  {_num(ideal, '8.2f')}"
            f"  {_num(point['wall_s'], '7.3f')} s  {_num(point['efficiency'], '10.2f')}"
            f"  {_num(point.get('others_cores'), '6.2f')}  {point['run_id']}"
            + ("  (not fitted)" if point.get("marks") and not point.get("fitted") else "")
        )
    lines.append(
        "        (ideal: one worker's throughput x N; others: cores that processes other than"
        " fanout's kept busy on the worker host during the run)"
    )
    if sweep.get("error"):
        lines.append(f"[!] {sweep['error']}")
    lines += _marked_lines(sweep)
    busy = _busy_line(sweep["points"])
    if busy:
        lines.append(busy)
    if fit:
        peak = f"peak at N* = {fit['peak_n']:.1f}" if fit["peak_n"] else "no peak (kappa = 0)"
        knee = f"; from N = {fit['knee_n']}, +1 worker adds < 10 % of one" if fit["knee_n"] else ""
        lines.append(
            f"[i] USL: sigma {fit['sigma']:.4f}, kappa {fit['kappa']:.5f}, lambda "
            f"{fit['lam']:.2f}/s, R^2 {fit['r2']:.3f}; {peak}{knee}"
        )
    else:
        lines.append(f"[i] {sweep['fit_note']}")
    if sweep.get("fit_note_marked"):
        lines.append(f"[i] {sweep['fit_note_marked']}")
    return lines
