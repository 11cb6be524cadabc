"""`python -m bench.harness --quick` (`make bench-quick`) end to end: it starts its own stack,
runs every scenario once on reduced sizes (but the full-only ones) and writes the report and the
chart. No timing is asserted: CI
machines vary. Splicing one scenario's new results into older ones is checked without a stack."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path

import pytest

from bench.chart import chart_series
from bench.harness import (
    CHART_NAME,
    DATA_NAME,
    REPORT_NAME,
    chosen,
    comment,
    main,
    rerender,
    splice,
    write_outputs,
)
from bench.model import Outcome
from bench.report import machine_facts
from bench.scenarios import FULL_ONLY, SCENARIOS


@pytest.mark.slow  # every benchmark scenario once, but the full-only ones: ~80 s
def test_quick_bench_writes_a_report_and_chart_naming_every_scenario(tmp_path: Path) -> None:
    code = main(True, tmp_path)

    report = (tmp_path / REPORT_NAME).read_text()
    assert code == 0, report
    for name in chosen(quick=True):
        assert f"## {name}: " in report, f"scenario {name} missing from the report"
        assert "did not finish" not in report
    for name in FULL_ONLY:
        assert f"## {name}: " not in report
    skipped = [name for name, _ in SCENARIOS if name in FULL_ONLY]  # in the report's order
    assert f"Not run this time: {', '.join(skipped)}." in report
    for fact in ("cores", "Python", "RQ", "Redis server"):
        assert f"| {fact} |" in report
    assert "## Targets" in report
    assert f"]({CHART_NAME})" in report

    chart = (tmp_path / CHART_NAME).read_text()
    root = ET.fromstring(chart)
    assert root.tag.endswith("svg")
    for series in ("fanout queue", "bare RQ", "fanout hybrid"):
        assert f">{series}<" in chart, f"series {series} missing from the chart"
    assert "no scaling data" not in chart

    (tmp_path / REPORT_NAME).unlink()
    rerender(tmp_path)
    assert (tmp_path / REPORT_NAME).read_text() == report


def test_chart_groups_only_series_placed_on_it() -> None:
    from bench.model import Outcome

    outcome = Outcome("x", "x", [])
    outcome.new("a W=1", chart="a", workers=1).add(tput=10.0, eff=0.9)
    outcome.new("a W=2", chart="a", workers=2).add(tput=19.0, eff=0.9)
    outcome.new("not charted").add(tput=5.0)
    groups = chart_series([outcome])
    assert list(groups) == ["a"]
    assert [s.workers for s in groups["a"]] == [1, 2]


def test_full_only_scenarios_run_in_quick_mode_only_when_named() -> None:
    names = [name for name, _ in SCENARIOS]
    assert chosen(quick=False) == names
    assert set(names) - set(chosen(quick=True)) == FULL_ONLY
    assert chosen(quick=True, only={"scale", "tutorial"}) == ["tutorial", "scale"]
    with pytest.raises(ValueError, match="nope"):
        chosen(quick=False, only={"nope"})


def _results(names: list[str], value: float, written_at: str) -> dict:
    outcomes = []
    for name in names:
        outcome = Outcome(name, f"{name} title", [("x", "x")], ratio=None)
        outcome.new(f"{name} series").add(x=value)
        outcomes.append(asdict(outcome))
    return {
        "quick": False,
        "reps": 3,
        "seconds": 60.0,
        "written_at": written_at,
        "load_average": [0.5, 0.5, 0.5],
        "redis_version": "7.0.15",
        "facts": machine_facts("7.0.15"),
        "outcomes": outcomes,
        "skipped": [],
    }


def test_splicing_a_scenario_replaces_its_results_keeps_the_others_and_says_when(
    tmp_path: Path,
) -> None:
    old = _results(["tutorial", "footprint", "scale"], 1.0, "day one")
    old["outcomes"][2]["comment"] = "what the old numbers said"
    new = _results(["scale"], 2.0, "day two")

    data = splice(old, new)

    assert [o["name"] for o in data["outcomes"]] == ["tutorial", "footprint", "scale"]
    assert [o["series"][0]["samples"][0]["x"] for o in data["outcomes"]] == [1.0, 1.0, 2.0]
    assert data["outcomes"][2]["comment"] == ""  # it spoke of the replaced numbers
    assert data["written_at"] == "day one"
    (tmp_path / DATA_NAME).write_text(json.dumps(data))
    comment(tmp_path, "scale", "Twice as much.\n")
    report = (tmp_path / REPORT_NAME).read_text()
    assert "Measured later and spliced in: scale, on day two" in report
    assert report.index("## scale: ") < report.index("Twice as much.")
    with pytest.raises(ValueError, match="quick"):
        splice(old, new | {"quick": True})
    write_outputs(tmp_path, json.loads((tmp_path / DATA_NAME).read_text()))
    assert (tmp_path / REPORT_NAME).read_text() == report
