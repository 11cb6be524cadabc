"""A sweep as plain text: one row per worker count, then the fit (or why there is none)."""

from __future__ import annotations

from typing import Any


def _num(value: float | None, fmt: str) -> str:
    if value is None:
        return "-".rjust(int(fmt.split(".")[0] or 0))
    return format(value, fmt)


def sweep_lines(sweep: dict[str, Any]) -> list[str]:
    spec = sweep["spec"]
    lines = [
        f"{spec['urls']} URLs, {spec['strategy']}, {spec['workload']}: sweep {sweep['state']}",
        f"{'workers':>7}  {'tasks/s':>8}  {'ideal':>8}  {'wall':>9}  {'efficiency':>10}"
        f"  {'others':>6}  run",
    ]
    fit = sweep.get("fit")
    for point in sweep["points"]:
        ideal = fit["lam"] * point["workers"] if fit else None
        lines.append(
            f"{point['workers']:>7}  {_num(point['throughput'], '8.2f')}  {_num(ideal, '8.2f')}"
            f"  {_num(point['wall_s'], '7.3f')} s  {_num(point['efficiency'], '10.2f')}"
            f"  {_num(point.get('others_cores'), '6.2f')}  {point['run_id']}"
        )
    lines.append("        (ideal: one worker's throughput x N; others: cores busy with other work)")
    if sweep.get("error"):
        lines.append(f"[!] {sweep['error']}")
    if fit:
        peak = f"peak at N* = {fit['peak_n']:.1f}" if fit["peak_n"] else "no peak (kappa = 0)"
        knee = f"; from N = {fit['knee_n']}, +1 worker adds < 10 % of one" if fit["knee_n"] else ""
        lines.append(
            f"[i] USL: sigma {fit['sigma']:.4f}, kappa {fit['kappa']:.5f}, lambda "
            f"{fit['lam']:.2f}/s, R^2 {fit['r2']:.3f}; {peak}{knee}"
        )
    else:
        lines.append(f"[i] {sweep['fit_note']}")
    return lines
