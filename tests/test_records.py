"""Task and start records reach Redis as JSON that every reader parses to the record written."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.records import StartRecord, TaskRecord
from contract.states import TaskState
from producer.reader import parse_record
from worker.fetch import FetchOutcome

_text = st.text(st.characters(codec="utf-8") | st.sampled_from('\x00\u2028\ud800é"\\'))
_maybe_text = st.none() | _text
_time = st.floats(allow_nan=False, allow_infinity=False)
_maybe_time = st.none() | _time
_int = st.integers(-(2**63), 2**63 - 1)

task_records = st.builds(
    TaskRecord,
    index=_int,
    url=_text,
    state=st.sampled_from(TaskState),
    status_code=st.none() | _int,
    bytes=_int,
    error=_maybe_text,
    started_at=_maybe_time,
    finished_at=_maybe_time,
    duration_s=_maybe_time,
    cpu_s=_maybe_time,
    worker=_maybe_text,
    host=_maybe_text,
    pid=st.none() | _int,
    thread=_maybe_text,
    cores=st.none() | _int,
    attempt=_int,
)
start_records = st.builds(
    StartRecord,
    index=_int,
    url=_text,
    started_at=_time,
    worker=_text,
    host=_text,
    pid=_int,
    thread=_text,
    attempt=_int,
)


def _as_json_dumps_wrote(record: TaskRecord | StartRecord) -> object:
    """What the records' JSON was when `json.dumps` wrote it, parsed."""
    return json.loads(json.dumps(record.to_dict(), separators=(",", ":")))


@given(task_records)
def test_a_task_record_reads_back_as_json_dumps_wrote_it(record: TaskRecord) -> None:
    text = record.to_json()
    assert json.loads(text) == _as_json_dumps_wrote(record)
    assert parse_record(text) == _as_json_dumps_wrote(record)
    assert TaskRecord.from_json(text) == record


@given(start_records)
def test_a_start_record_reads_back_as_json_dumps_wrote_it(record: StartRecord) -> None:
    text = record.to_json()
    assert json.loads(text) == _as_json_dumps_wrote(record)
    assert parse_record(text) == _as_json_dumps_wrote(record)
    assert StartRecord.from_json(text) == record


def test_a_lone_surrogate_still_writes() -> None:
    """A URL can carry one (the API's `json.loads` accepts `"\\ud800"`): orjson refuses it."""
    record = TaskRecord(
        index=0, url="http://a.example/\ud800", state=TaskState.REFUSED, error="\udfff"
    )
    assert TaskRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    ("make", "args"),
    [
        (TaskRecord, (0, "http://a.example/", TaskState.OK)),
        (StartRecord, (0, "http://a.example/", 1.0, "w", "h", 1, "t")),
        (FetchOutcome, (TaskState.OK, 200, 0)),
    ],
    ids=["TaskRecord", "StartRecord", "FetchOutcome"],
)
def test_records_are_built_by_keyword_only(make, args):
    """Sixteen positional fields, four of them float times and four the executor's names, would
    swap silently if two were reordered: a record takes keywords only."""
    with pytest.raises(TypeError):
        make(*args)


def test_no_code_builds_a_record_by_position():
    """Every call of the three record types names its fields (read from the source, so a call
    a test does not reach is covered too)."""
    root = Path(__file__).resolve().parent.parent
    offenders = []
    for package in ("contract", "producer", "worker", "web", "fanout", "origin", "bench", "tests"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"TaskRecord", "StartRecord", "FetchOutcome"}
                    and node.args
                ):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
