"""Exports of a run streamed from Redis: CSV, JSON and the Trace Event Format, in constant memory
whatever the run's size (a run of 20,000 tasks peaks no higher than one of 2,000)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import tracemalloc

import pytest

from tests.support import start_redis
from tests.test_reads_bounded import write_run
from tests.web.conftest import make_app


@pytest.fixture(scope="module")
def quiet(tmp_path_factory, settings):
    import redis as redis_lib

    service = start_redis(tmp_path_factory.mktemp("exports"))
    app = make_app(dataclasses.replace(settings, redis_url=service.url))
    yield app, redis_lib.Redis.from_url(service.url)
    service.stop()


def download(app, path: str) -> tuple[int, int]:
    """The body's size, and the peak memory (bytes) allocated while streaming it (the chunks
    are counted and let go, as a client writing to a file would)."""
    client = app.test_client()
    tracemalloc.start()
    try:
        response = client.get(path, buffered=False)
        assert response.status_code == 200
        assert response.is_streamed
        size = sum(len(chunk) for chunk in response.response)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, peak


def test_exports_stream_in_constant_memory(quiet):
    app, client = quiet
    small, big = write_run(client, 2000), write_run(client, 20_000)
    for suffix in (".csv", ".json", ".trace.json"):
        small_size, small_peak = download(app, f"/runs/{small}{suffix}")
        big_size, big_peak = download(app, f"/runs/{big}{suffix}")
        assert big_size > 9 * small_size  # ten times the tasks
        assert big_peak < 1.5 * small_peak + 500_000, (suffix, small_peak, big_peak)
    rows = list(csv.DictReader(io.StringIO(body_of(app, f"/runs/{big}.csv"))))
    assert [int(r["index"]) for r in rows] == list(range(20_000))
    record = json.loads(body_of(app, f"/runs/{big}.json"))
    assert record["total"] == 20_000 and len(record["tasks"]) == 20_000


def body_of(app, path: str) -> str:
    return app.test_client().get(path).get_data(as_text=True)


def test_the_trace_has_the_formats_documented_fields(quiet):
    app, client = quiet
    run_id = write_run(client, 300)
    response = app.test_client().get(f"/runs/{run_id}.trace.json")
    assert response.headers["Content-Disposition"].endswith('.trace.json"')
    trace = json.loads(response.get_data(as_text=True))
    assert trace["displayTimeUnit"] == "ms"
    events = trace["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    meta = [e for e in events if e["ph"] == "M"]
    assert len(complete) == 300
    for event in complete:  # Trace Event Format, "Complete Events"
        assert {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args"} <= event.keys()
        assert event["ts"] >= 0 and event["dur"] >= 0
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
    assert min(e["ts"] for e in complete) == 0
    assert complete[0]["dur"] == pytest.approx(100_000, rel=1e-3)  # 0.1 s in microseconds
    names = {(e["name"], e["pid"], e["tid"]): e["args"]["name"] for e in meta}
    lanes = {(e["pid"], e["tid"]) for e in complete}
    for pid, tid in lanes:  # every lane is named: its process and its thread
        assert ("process_name", pid, 0) in names and ("thread_name", pid, tid) in names


def test_an_unknown_run_has_no_export(quiet):
    app, _ = quiet
    for suffix in (".csv", ".json", ".trace.json"):
        assert app.test_client().get(f"/runs/000000000000{suffix}").status_code == 404
