"""How the CLI words runs and comparisons, over hand-made records of the shapes in the reader's
schema (`rows`, `repeat`, `host_load`, `provisional`, `summary.workers`), and of today's shape."""

from __future__ import annotations

import re
from typing import Any

from fanout.report import summary_lines, task_line
from fanout.table import comparison_cells, comparison_lines, plain_table
from producer.comparison import rows as producer_rows

BOX_OR_COLOUR = re.compile("[\u2500-\u257f\x1b]")


def spread(median: float, low: float, high: float) -> dict[str, float]:
    return {"median": median, "min": low, "max": high}


def a_run(strategy: str = "queue", wall_s: float = 1.25, **extra: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "id": f"run-{strategy}",
        "spec": {"urls": ["http://a.example/"] * 40, "strategy": strategy, "concurrency": 8,
                 "workload": "fetch"},
        "state": "done",
        "total": 40,
        "done": 40,
        "summary": {
            "counts": {"ok": 40, "error": 0},
            "wall_s": wall_s,
            "ideal_s": 1.0,
            "efficiency": 1.0 / wall_s,
            "speedup": 8.0,
            "peak_concurrency": 8,
            "throughput_per_s": 40 / wall_s,
            "latency_s": wall_s + 0.01,
        },
        "host_load": None,
        "provisional": False,
    }  # fmt: skip
    run.update(extra)
    return run


def a_row(strategy: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "strategy": strategy,
        "run_ids": ["a", "b", "c"],
        "done": 3,
        "total": 3,
        "final": True,
        "wall_s": spread(1.2344, 1.2, 1.31),
        "ideal_s": spread(1.0, 0.99, 1.02),
        "efficiency": spread(0.95, 0.93, 0.97),
        "speedup": spread(7.5, 7.4, 7.6),
        "vs_sequential": spread(7.92, 7.8, 8.01),
        "peak_concurrency": 8,
        "ok": 120,
        "tasks": 120,
        "busy": False,
    }
    row.update(extra)
    return row


def a_comparison(rows: list[dict], repeat: int = 3, **extra: Any) -> dict[str, Any]:
    comparison = {
        "id": "cmp",
        "spec": {"urls": ["http://a.example/"] * 40, "concurrency": 8, "workload": "fetch"},
        "repeat": repeat,
        "strategies": [row["strategy"] for row in rows],
        "runs": [],
        "rows": rows,
        "state": "done",
        "provisional": False,
    }
    comparison.update(extra)
    return comparison


def cells_of(comparison: dict, strategy: str) -> dict[str, str]:
    headers, rows = comparison_cells(comparison)
    (row,) = [row for row in rows if row[0].split()[0] == strategy]
    return dict(zip(headers, row, strict=True))


def test_a_repeated_comparison_shows_each_median_with_its_range():
    cells = cells_of(a_comparison([a_row("threads")]), "threads")
    assert cells["wall"] == "1.234 s (1.20\u20131.31)"
    assert cells["ideal"] == "1.000 s (0.99\u20131.02)"
    assert cells["efficiency"] == "0.95 (0.93\u20130.97)"
    assert cells["speed-up vs sequential"] == "7.92x (7.80\u20138.01)"
    assert cells["ok"] == "120/120"


def test_a_comparison_run_once_shows_plain_values():
    row = a_row("threads", run_ids=["a"], done=1, total=1, ok=40, tasks=40)
    cells = cells_of(a_comparison([row], repeat=1), "threads")
    assert cells["wall"] == "1.234 s"
    assert cells["speed-up vs sequential"] == "7.92x"
    assert cells["ok"] == "40/40"


def test_a_row_whose_runs_are_not_all_done_is_marked_so_far():
    rows = [a_row("threads"), a_row("queue", done=1, final=False)]
    comparison = a_comparison(rows, state="running", provisional=True)
    assert cells_of(comparison, "threads")["strategy"] == "threads"
    assert "so far" in cells_of(comparison, "queue")["strategy"]
    assert "provisional" in comparison_lines(comparison)[0]


def test_missing_figures_print_as_a_dash():
    row = a_row("queue", vs_sequential=None, efficiency=None)
    cells = cells_of(a_comparison([row]), "queue")
    assert cells["speed-up vs sequential"] == "-"
    assert cells["efficiency"] == "-"


def test_a_busy_strategy_gets_a_warning_under_the_table():
    busy_load = {"others_cores": {"h1": 0.61}, "max_others_cores": 0.61, "threshold_cores": 0.25,
                 "busy": True}  # fmt: skip
    runs = [a_run("threads"), a_run("queue", host_load=busy_load)]
    comparison = a_comparison([a_row("threads"), a_row("queue", busy=True)], runs=runs)
    lines = comparison_lines(comparison)
    assert lines[-1].startswith("[!] the worker host was busy during queue: ")
    assert "0.61 cores" in lines[-1] and "distorted" in lines[-1]
    assert not any(line.startswith("[!]") for line in comparison_lines(a_comparison([a_row("q")])))


def from_runs(runs: list[dict[str, Any]], repeat: int) -> dict[str, Any]:
    """A comparison record as the reader returns it: its rows built by the producer."""
    strategies = list(dict.fromkeys(run["spec"]["strategy"] for run in runs))
    return {
        "id": "cmp",
        "spec": runs[0]["spec"],
        "state": "done",
        "runs": runs,
        "repeat": repeat,
        "rows": producer_rows(runs, strategies, repeat),
    }


def test_rows_built_from_one_run_per_strategy():
    runs = [a_run("sequential", wall_s=10.0), a_run("threads", wall_s=1.25)]
    comparison = from_runs(runs, 1)
    headers, rows = comparison_cells(comparison)
    assert [row[0] for row in rows] == ["sequential", "threads"]
    cells = dict(zip(headers, rows[1], strict=True))
    assert cells["wall"] == "1.250 s"
    assert cells["speed-up vs sequential"] == "8.00x"
    assert cells["efficiency"] == "0.80"
    assert cells["ok"] == "40/40"


def test_rows_built_from_repeated_runs_pair_the_speed_up_by_repeat_index():
    runs = [
        a_run("sequential", wall_s=10.0, repeat_index=0),
        a_run("threads", wall_s=2.0, repeat_index=0),
        a_run("sequential", wall_s=12.0, repeat_index=1),
        a_run("threads", wall_s=1.0, repeat_index=1),
    ]
    comparison = from_runs(runs, 2)
    cells = cells_of(comparison, "threads")
    assert cells["wall"] == "1.500 s (1.00\u20132.00)"
    assert cells["speed-up vs sequential"] == "8.50x (5.00\u201312.00)"
    assert cells["ok"] == "80/80"


def test_the_plain_table_aligns_columns_without_box_or_colour_characters():
    lines = plain_table(["strategy", "wall"], [["sequential", "10.112 s"], ["threads", "1.2 s"]])
    assert lines == [
        "strategy        wall",
        "sequential  10.112 s",
        "threads        1.2 s",
    ]
    text = "\n".join(comparison_lines(a_comparison([a_row("threads")])))
    assert not BOX_OR_COLOUR.search(text)


def test_a_run_served_by_workers_says_how_many():
    workers = {"served": 2, "live": 2, "peak": 3, "changes": [[0.0, 2], [0.4, 3]]}
    run = a_run("queue")
    run["summary"]["workers"] = workers
    assert "[i] served by 2 workers" in summary_lines(run)
    run["summary"]["workers"] = None
    assert not any("served by" in line for line in summary_lines(run))
    assert not any("served by" in line for line in summary_lines(a_run("threads")))


def test_a_run_on_a_busy_host_ends_its_summary_with_a_warning():
    host_load = {"others_cores": {"h1": 0.61}, "max_others_cores": 0.61, "threshold_cores": 0.25,
                 "busy": True}  # fmt: skip
    lines = summary_lines(a_run(host_load=host_load))
    assert lines[-1].startswith(
        "[!] the worker host was busy: other processes used 0.61 cores during the run; "
        "the figures may be distorted"
    )
    calm = dict(host_load, max_others_cores=0.1, busy=False)
    assert not any(line.startswith("[!]") for line in summary_lines(a_run(host_load=calm)))


def test_a_provisional_run_says_its_figures_are_provisional():
    lines = summary_lines(a_run(state="running", provisional=True))
    assert any("provisional" in line for line in lines)
    assert not any("provisional" in line for line in summary_lines(a_run()))


def test_a_refused_task_names_its_state_once_with_the_reason():
    task = {"url": "ftp://a.example/x", "state": "refused",
            "error": "refused: scheme 'ftp' is not http(s)"}  # fmt: skip
    assert (
        task_line(task)
        == "[-] a.example [ftp://a.example/x]: refused (scheme 'ftp' is not http(s))"
    )
    timeout = {"url": "http://a.example/", "state": "timeout", "error": "read timed out"}
    assert task_line(timeout) == "[-] a.example [http://a.example/]: timeout (read timed out)"
    http_error = {"url": "http://a.example/", "state": "http_error", "status_code": 404}
    assert task_line(http_error) == "[-] a.example [http://a.example/]: http_error (status 404)"


def test_numbers_are_grouped_by_thousands_as_the_web_groups_them():
    run = a_run("threads", total=100000, done=100000)
    run["summary"]["counts"] = {"ok": 99999, "error": 1}
    run["summary"]["peak_concurrency"] = 2000
    run["summary"]["throughput_per_s"] = 12345.67
    lines = summary_lines(run)
    assert "100,000 URLs: ok 99,999, error 1" in lines[1]
    assert "peak concurrency 2,000" in lines[-1] and "throughput 12,345.7/s" in lines[-1]
    ok = {"url": "http://a.example/", "state": "ok", "bytes": 65536}
    assert task_line(ok) == "[+] a.example [http://a.example/]: 65,536 bytes."
    comparison = a_comparison([a_row("threads", ok=120000, tasks=120000)], total=40000)
    assert comparison_lines(comparison)[0].startswith("40,000 URLs, ")
    assert cells_of(comparison, "threads")["ok"] == "120,000/120,000"


def test_one_of_a_thing_is_singular():
    run = a_run("queue", total=1, done=1)
    run["summary"]["counts"] = {"ok": 1}
    run["summary"]["workers"] = {"served": 1, "live": 1, "peak": 1, "changes": []}
    text = "\n".join(summary_lines(run))
    assert "1 URL: ok 1" in text and "served by 1 worker\n" in text + "\n"
    assert "1 URLs" not in text and "1 workers" not in text
    ok = {"url": "http://a.example/", "state": "ok", "bytes": 1}
    assert task_line(ok) == "[+] a.example [http://a.example/]: 1 byte."
    comparison = a_comparison([a_row("threads", run_ids=["a"], done=1, total=1)], total=1)
    assert comparison_lines(comparison)[0].startswith("1 URL, ")


def test_the_table_says_what_its_columns_are():
    once = comparison_lines(a_comparison([a_row("threads", run_ids=["a"])], repeat=1))
    legend = " ".join(line for line in once if line.startswith("[i] "))
    for column in ("wall", "ideal", "efficiency", "speed-up vs sequential"):
        assert f"{column}:" in legend, once
    repeated = comparison_lines(a_comparison([a_row("threads")], repeat=3))
    notes = " ".join(line for line in repeated if line.startswith("[i] "))
    assert "median of the per-round ratios" in notes
    assert "not the ratio of the median walls" in notes
