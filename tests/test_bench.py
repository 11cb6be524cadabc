"""`fanout bench --quick` end to end: it starts its own stack, runs every scenario once on reduced
sizes and writes the report and the chart. No timing is asserted: CI machines vary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.chart import chart_series
from bench.harness import CHART_NAME, REPORT_NAME, main, rerender
from bench.scenarios import SCENARIOS


@pytest.mark.slow  # every benchmark scenario once: ~80 s
def test_quick_bench_writes_a_report_and_chart_naming_every_scenario(tmp_path: Path) -> None:
    code = main(True, tmp_path)

    report = (tmp_path / REPORT_NAME).read_text()
    assert code == 0, report
    for name, _ in SCENARIOS:
        assert f"## {name}: " in report, f"scenario {name} missing from the report"
        assert "did not finish" not in report
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
