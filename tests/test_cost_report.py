"""The CLI shows a run's cost beside its time: a `[i] cost:` line under the summary, and the
cost columns of the comparison table (the median of a strategy's runs)."""

from __future__ import annotations

from typing import Any

from fanout.report import cost_lines, summary_lines
from fanout.table import comparison_cells
from tests.test_report import a_comparison, a_row, a_run

MIB = 2**20


def figures(added_mib: float, processes: int, threads: int, **extra: Any) -> dict[str, Any]:
    base = {
        "workers": 1,
        "jobs": 1,
        "memory_idle_bytes": 50 * MIB,
        "memory_peak_bytes": int((50 + added_mib) * MIB),
        "memory_added_bytes": int(added_mib * MIB),
        "processes": processes,
        "processes_started": processes - 1,
        "threads": threads,
        "threads_started": threads - 5,
        "ctx_switches_voluntary": 2215,
        "ctx_switches_involuntary": 652,
        "cpu_user_s": 0.124,
        "cpu_system_s": 0.363,
        "samples": 9,
    }
    return base | extra


def a_cost(**hosts: dict[str, Any]) -> dict[str, Any]:
    total = {name: sum(h[name] for h in hosts.values()) for name in next(iter(hosts.values()))}
    return {"hosts": hosts, "total": total}


def test_the_run_summary_has_a_cost_line():
    run = a_run("processes", cost=a_cost(h1=figures(150.0, 17, 88)))
    (line,) = [line for line in summary_lines(run) if line.startswith("[i] cost")]
    assert line == (
        "[i] cost: memory +150.0 MiB over the idle worker's 50.0 MiB (peak 200.0 MiB), "
        "17 processes (16 started), 88 threads (83 started), context switches 2,215 voluntary "
        "/ 652 involuntary, CPU 0.124 s user / 0.363 s sys"
    )


def test_a_run_on_two_hosts_has_a_cost_line_per_host_too():
    lines = cost_lines(a_cost(h1=figures(1.5, 1, 20), h2=figures(2.5, 1, 20)))
    assert lines[0].startswith("[i] cost: memory +4.0 MiB")
    assert lines[1].startswith("[i] cost on h1: memory +1.5 MiB")
    assert lines[2].startswith("[i] cost on h2: memory +2.5 MiB")


def test_a_run_without_cost_prints_no_cost_line():
    assert not [line for line in summary_lines(a_run("threads")) if "cost" in line]


def test_the_comparison_table_has_cost_columns_per_strategy():
    runs = [
        a_run("threads", id="t1", cost=a_cost(h=figures(1.0, 1, 22))),
        a_run("threads", id="t2", cost=a_cost(h=figures(3.0, 1, 22))),
        a_run("processes", id="p1", cost=a_cost(h=figures(150.0, 17, 88))),
    ]
    rows = [a_row("threads", run_ids=["t1", "t2"]), a_row("processes", run_ids=["p1"])]
    headers, cells = comparison_cells(a_comparison(rows, repeat=2, runs=runs))
    threads, processes = (dict(zip(headers, row, strict=True)) for row in cells)
    assert threads["memory added"] == "+2.0 MiB"  # the median of 1 and 3
    assert threads["processes"] == "1 (0 started)"
    assert processes["processes"] == "17 (16 started)"
    assert processes["threads"] == "88 (83 started)"
    assert processes["ctx switches vol/invol"] == "2,215/652"
    assert processes["CPU user/sys"] == "0.124/0.363 s"


def test_a_strategy_without_cost_shows_dashes():
    headers, cells = comparison_cells(a_comparison([a_row("threads")]))
    assert dict(zip(headers, cells[0], strict=True))["memory added"] == "-"
