"""The one checker every fault scenario uses: each accepted task has exactly one terminal record."""

from __future__ import annotations

import json

import redis as redis_lib

from contract import keys, urls_list
from contract.states import TaskState


def check_run(client: redis_lib.Redis, run_id: str) -> dict[str, int]:
    """Asserts: the set of tasks accepted for the run equals the set with a terminal record; each
    has exactly one record; no record exists for an unknown task. Returns counts by state, and
    the duplicate writes the first-writer-wins rule rejected."""
    run = client.hgetall(keys.run_key(run_id))
    assert run, f"run {run_id} does not exist"
    fields = {k.decode(): v.decode() for k, v in run.items()}
    urls = urls_list.read(client, fields["urls_owner"])
    assert len(urls) == int(run[b"total"]), "the run's URL list holds every accepted URL"
    accepted = set(range(len(urls)))
    records = client.hgetall(keys.tasks_key(run_id))
    indexes = {int(index) for index in records}
    assert indexes == accepted, {
        "missing": sorted(accepted - indexes)[:20],
        "unknown": sorted(indexes - accepted)[:20],
    }
    order = [int(index) for index in client.lrange(keys.order_key(run_id), 0, -1)]
    assert sorted(order) == sorted(accepted), "each task ended exactly once"
    counts: dict[str, int] = {}
    for raw in records.values():
        record = json.loads(raw)
        state = TaskState(record["state"])
        assert state.is_terminal, record
        assert record["url"] == urls[record["index"]]
        counts[state.value] = counts.get(state.value, 0) + 1
    assert int(run[b"done"]) == len(accepted)
    assert run[b"state"] == b"done"
    counts["duplicates"] = int(run.get(b"duplicates") or 0)
    return counts
