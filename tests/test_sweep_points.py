"""What a sweep counts as evidence: which points are fitted, when a fit means anything, and the
lines that say so (producer.sweep.analysis, producer.sweep_points, fanout.sweep_table)."""

from __future__ import annotations

import pytest

from fanout.sweep_table import sweep_lines
from figures import usl
from producer.sweep import analysis
from producer.sweep_points import point_from_run


def _point(workers: int, throughput: float | None, **extra) -> dict:
    return {
        "workers": workers,
        "throughput": throughput,
        "wall_s": 1.0,
        "efficiency": 0.9,
        "run_id": f"run{workers:09d}",
        "others_cores": 0.01,
    } | extra


def _run(counts: dict[str, int], *, changes=None, throughput=10.0, load=None) -> dict:
    """A run record as producer.reader.load_run returns it, with just what a point reads."""
    return {
        "id": "abcdef123456",
        "summary": {
            "throughput_per_s": throughput,
            "wall_s": 2.0,
            "efficiency": 0.8,
            "counts": {"ok": 0, "http_error": 0, "error": 0, "timeout": 0, "refused": 0,
                       "lost": 0, "pending": 0, "running": 0} | counts,
            "workers": {"served": 2, "live": 2, "peak": 2,
                        "changes": changes if changes is not None else [[0.0, 2]]},
        },
        "host_load": load or {},
    }  # fmt: skip


def test_three_points_are_no_evidence_for_a_fit():
    """With lambda from N = 1, sigma and kappa go through the two other points exactly."""
    body = analysis([_point(1, 4.77), _point(2, 6.39), _point(4, 16.56)])
    assert body["fit"] is None
    assert "3" in body["fit_note"] and "4" in body["fit_note"]
    assert "exactly" in body["fit_note"]
    assert usl.fit([1, 2, 4], [4.77, 6.39, 16.56]) is None


def test_four_points_are_fitted():
    points = [_point(n, x) for n, x in [(1, 5.0), (2, 9.5), (4, 17.0), (8, 26.0)]]
    body = analysis(points)
    assert body["fit"] is not None and body["fit_note"] is None
    assert [p["fitted"] for p in body["points"]] == [True] * 4


def test_a_marked_point_is_left_out_of_the_fit_and_says_why():
    marked = _point(2, 6.39, marks=["live workers changed during the run: 2, 1, 2"])
    points = [_point(1, 4.77), marked, _point(4, 16.56), _point(8, 30.0), _point(6, 24.0)]
    body = analysis(points)
    assert [p["fitted"] for p in body["points"]] == [True, False, True, True, True]
    assert body["fit"] is not None
    assert "1 marked point was left out" in body["fit_note_marked"]
    with_it = analysis(points, include_marked=True)
    assert all(p["fitted"] for p in with_it["points"])
    assert with_it["fit"]["r2"] < body["fit"]["r2"]


def test_marked_points_leave_too_few_for_a_fit():
    points = [_point(1, 5.0), _point(2, 9.0, marks=["1 task refused"]), _point(3, 13.0),
              _point(4, 16.0)]  # fmt: skip
    body = analysis(points)
    assert body["fit"] is None
    assert "3 usable" in body["fit_note"] and "1 marked" in body["fit_note"]


@pytest.mark.parametrize(
    ("counts", "changes", "reruns", "mark"),
    [
        ({"refused": 1}, None, 0, "1 task refused"),
        ({"ok": 5, "timeout": 2}, None, 0, "2 tasks failed (timeout 2)"),
        (
            {"ok": 6},
            [[0.0, 2], [1.5, 1], [3.0, 2]],
            0,
            "live workers changed during the run: 2, 1, 2",
        ),
        ({"ok": 6}, None, 3, "3 tasks re-run"),
    ],
)
def test_a_point_is_marked_with_the_reason(counts, changes, reruns, mark):
    point = point_from_run(2, _run(counts, changes=changes), reruns=reruns)
    assert mark in point["marks"]


def test_a_clean_point_has_no_mark():
    point = point_from_run(2, _run({"ok": 6}), reruns=0)
    assert point["marks"] == []
    assert point["throughput"] == 10.0


def test_a_refused_only_point_has_no_throughput():
    point = point_from_run(1, _run({"refused": 1}, changes=[[0.0, 1]], throughput=244.98), reruns=0)
    assert point["throughput"] is None
    assert point["marks"] == ["1 task refused"]


def test_a_point_on_a_busy_host_keeps_what_the_warning_needs():
    load = {"busy": True, "others_cores": {"h1": 1.47}, "max_others_cores": 1.47}
    point = point_from_run(2, _run({"ok": 6}, load=load), reruns=0)
    assert point["busy"] is True and point["others_cores"] == 1.47
    assert point["others_by_host"] == {"h1": 1.47}


def _sweep(points: list[dict], **fields) -> dict:
    body = {
        "id": "abcdef123456",
        "state": "done",
        "error": None,
        "spec": {"urls": 6, "strategy": "queue", "workload": "fetch"},
    } | fields
    return body | analysis(points)  # fmt: skip


def test_cli_warns_when_a_point_met_a_busy_host_with_the_run_wording():
    points = [
        _point(1, 5.0, others_cores=0.05, busy=False),
        _point(2, 9.0, others_cores=0.79, busy=True, others_by_host={"h1": 0.79}),
        _point(4, 17.0, others_cores=1.47, busy=True, others_by_host={"h1": 1.47}),
    ]
    lines = sweep_lines(_sweep(points))
    warning = [line for line in lines if line.startswith("[!]")]
    assert warning == [
        "[!] the worker host was busy during N = 2, N = 4: other processes used up to 1.47 "
        "cores during a run; the figures may be distorted (run the sweep again on a quiet host)"
    ]


def test_cli_says_why_there_is_no_fit_and_which_points_are_marked():
    points = [_point(1, 5.0), _point(2, 9.0, marks=["1 task refused"]), _point(3, 13.0)]
    text = "\n".join(sweep_lines(_sweep(points)))
    assert "[!] N = 2 left out of the fit: 1 task refused" in text
    assert "no fit" in text and "2 usable" in text
    assert "[i] USL:" not in text
