"""Redis fails while a run is being submitted: the client hears 503 with a message and no
half-created run appears, before or after Redis comes back.

`submit_run` writes the run record, its index entry and its RQ jobs in one MULTI/EXEC, so a
fault leaves all or nothing. A comparison is several runs created one after another, each
hidden until the last step indexes them all: a fault part-way leaves hidden records that
expire, which the last test measures.
"""

from __future__ import annotations

import dataclasses
import signal
import time

import pytest
import redis as redis_lib
import requests
from rq.job import Job

from contract import keys
from contract.records import RunSpec
from contract.states import Strategy
from producer import staging
from producer.connection import fanout_queue
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run
from tests.reliability.conftest import UNLIMITED, figure
from tests.reliability.faults import Cut, RedisCutter
from tests.support import wait_until
from tests.web.conftest import csrf_token, make_app
from web.errors import REDIS_DOWN

#: Seconds to let appendfsync=everysec put the last writes on disk before a SIGKILL.
AOF_FSYNC_S = 1.5


def snapshot(client: redis_lib.Redis) -> dict[str, object]:
    """What a submission creates: records, index entries, queued jobs."""
    return {
        "index": sorted(client.zrange(keys.runs_index_key(), 0, -1)),
        "runs": sorted(client.scan_iter(keys.run_key("*"))),
        "comparisons": sorted(client.scan_iter(keys.comparison_key("*"))),
        "queue": client.lrange(fanout_queue(client).key, 0, -1),
        "jobs": sorted(client.scan_iter(Job.key_for("*"))),
    }


def run_body(origin_url: str, n: int = 0, **extra: object) -> dict:
    return {"urls": [f"{origin_url}/delay/0?n={n}"], "strategy": "threads", **extra}


def test_submissions_while_redis_is_down_are_503_and_nothing_half_made_appears(
    private_stack, origin_url
):
    stack = private_stack(FANOUT_RATE_LIMIT_SUBMIT=UNLIMITED)
    web = stack.add_web(processes=2)
    for n in range(3):
        assert requests.post(f"{web.url}/api/runs", json=run_body(origin_url, n)).ok
    compare = run_body(origin_url, compare=True, strategies=["threads", "queue"])
    assert requests.post(f"{web.url}/api/runs", json=compare, timeout=10).ok
    browser = requests.Session()
    token = csrf_token(browser.get(f"{web.url}/", timeout=10).text)
    before = snapshot(stack.client)
    time.sleep(AOF_FSYNC_S)

    stack.redis.signal_group(signal.SIGKILL)
    stack.redis.proc.wait()
    answers = []
    started = time.monotonic()
    for n in range(10):
        answers.append(requests.post(f"{web.url}/api/runs", json=run_body(origin_url, n)))
        answers.append(requests.post(f"{web.url}/api/runs", json=compare, timeout=30))
        form = {"csrf_token": token, "urls": f"{origin_url}/delay/0?n={n}", "strategy": "threads",
                "concurrency": "2", "workload": "fetch", "run": "Run"}  # fmt: skip
        answers.append(browser.post(f"{web.url}/", data=form, timeout=30, allow_redirects=False))
    down_s = (time.monotonic() - started) / len(answers)
    assert {r.status_code for r in answers} == {503}
    for response in answers:
        assert "Traceback" not in response.text
        if response.headers["Content-Type"].startswith("application/json"):
            assert response.json()["error"] == REDIS_DOWN
            assert response.headers["Retry-After"]
        else:
            assert REDIS_DOWN in response.text
    assert f"{origin_url}/delay/0?n=9" in answers[-1].text  # the form keeps what was typed
    page = browser.get(f"{web.url}/", timeout=30)
    assert page.status_code == 200 and "Redis is unreachable" in page.text

    restarted = time.monotonic()
    stack.restart_redis()  # the same directory: replays its AOF
    assert snapshot(stack.client) == before

    def accepted() -> bool:
        return requests.post(f"{web.url}/api/runs", json=run_body(origin_url), timeout=30).ok

    wait_until(accepted, 30, "submissions accepted again")
    back_s = time.monotonic() - restarted
    after = snapshot(stack.client)
    assert len(after["index"]) == len(before["index"]) + 1
    figure(
        f"Redis SIGKILLed: {len(answers)} submissions (API run, API comparison, form) all 503 "
        f"in {down_s * 1000:.0f} ms each on average; after restart from AOF: index, run "
        f"records, comparisons, queue and jobs identical to before ({len(before['index'])} "
        f"runs); first submission accepted {back_s:.1f} s after redis-server started"
    )


@pytest.fixture
def cutter_app(private_stack, settings):
    """An in-process app whose Redis connections go through a RedisCutter."""
    stack = private_stack()
    port = int(stack.redis.url.rsplit(":", 1)[1].split("/")[0])
    cutter = RedisCutter(port)
    app = make_app(dataclasses.replace(settings, redis_url=cutter.url), RATE_LIMIT_SUBMIT=UNLIMITED)
    yield stack, cutter, app.test_client()
    cutter.close()


def test_connection_cut_before_exec_leaves_nothing(cutter_app, origin_url):
    stack, cutter, client = cutter_app
    before = snapshot(stack.client)
    cutter.cut = Cut.BEFORE_EXEC
    started = time.monotonic()
    response = client.post("/api/runs", json=run_body(origin_url))
    took_s = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json()["error"] == REDIS_DOWN
    assert snapshot(stack.client) == before
    figure(
        f"connection cut before EXEC: the transaction was sent {cutter.cuts_made} time(s) and "
        f"discarded by Redis each time; 503 after {took_s:.2f} s; nothing created"
    )


def test_connection_cut_after_exec_leaves_one_whole_run(cutter_app, origin_url):
    """The worst moment: Redis ran the transaction and the answer was lost. The client hears
    503 although the run exists, whole: its record, index entry and jobs, each once. The run
    id and job ids are chosen before sending, so even a resent transaction would rewrite the
    same run, and task records are first-writer-wins."""
    stack, cutter, client = cutter_app
    before = snapshot(stack.client)
    cutter.cut, cutter.cuts_left = Cut.AFTER_EXEC, 1
    response = client.post("/api/runs", json=run_body(origin_url))
    assert response.status_code in (202, 503)
    after = snapshot(stack.client)
    (run_id,) = {member.decode() for member in after["index"]} - {
        member.decode() for member in before["index"]
    }
    assert sorted(set(after["runs"]) - set(before["runs"])) == [keys.run_key(run_id).encode()]
    queued = [job for job in after["queue"] if run_id.encode() in job]
    assert len(queued) == 1
    stack.add_workers(1)
    wait_for_run(stack.client, run_id, timeout_s=60)
    counts = check_run(stack.client, run_id)
    assert counts["ok"] == 1 and counts["duplicates"] == 0
    figure(
        f"connection cut after EXEC: the client heard {response.status_code}, "
        f"{cutter.execs_seen} transaction(s) sent; one whole run exists (record, index entry, "
        f"its job queued {len(queued)} time), and it completed with its task recorded once"
    )


def test_a_comparison_cut_before_its_exec_leaves_nothing(cutter_app, origin_url):
    """A comparison's records are written in one transaction: cut, nothing of it exists (it
    used to leave hidden run records and a queued first run behind)."""
    stack, cutter, client = cutter_app
    before = snapshot(stack.client)
    cutter.cut, cutter.pass_first = Cut.BEFORE_EXEC, 0
    response = client.post("/api/runs", json=run_body(origin_url, compare=True))
    assert response.status_code == 503
    after = snapshot(stack.client)
    assert after == before
    figure(f"comparison cut before its EXEC: 503, Redis unchanged ({cutter.execs_seen} sent)")


def test_a_comparison_whose_first_release_is_cut_still_runs(cutter_app, origin_url):
    """The records landed but the release of the first run did not: the client hears 202, and
    the conductor releases the runs one after another."""
    stack, cutter, client = cutter_app
    cutter.cut, cutter.pass_first = Cut.BEFORE_EXEC, 1
    response = client.post("/api/runs", json=run_body(origin_url, compare=True))
    assert response.status_code == 202, response.text
    run_ids = [run["id"] for run in response.get_json()["runs"]]
    assert stack.client.llen(fanout_queue(stack.client).key) == 0  # nothing released yet
    stack.add_workers(1)
    for run_id in run_ids:
        wait_for_run(stack.client, run_id, timeout_s=60)
        counts = check_run(stack.client, run_id)
        assert counts["ok"] == 1 and counts["duplicates"] == 0
    figure(
        f"comparison whose release was cut: 202, then all {len(run_ids)} runs released by the "
        "conductor and completed, each task recorded once"
    )


def test_a_staged_run_cut_before_its_commit_leaves_nothing_a_worker_can_see(cutter_app, origin_url):
    """A big queue run's jobs are written in slices before the run exists; when the run's own
    transaction is cut, nothing is queued or listed, and what was staged expires."""
    stack, cutter, client = cutter_app
    before = snapshot(stack.client)
    cutter.cut, cutter.pass_first = Cut.BEFORE_EXEC, 0
    n = staging.STAGE_ABOVE + 1
    body = {"urls": [f"{origin_url}/delay/0?n={i}" for i in range(n)], "strategy": "queue"}
    response = client.post("/api/runs", json=body)
    assert response.status_code == 503
    after = snapshot(stack.client)
    assert after["index"] == before["index"] and after["runs"] == before["runs"]
    assert after["queue"] == before["queue"]
    staged = [job for job in after["jobs"] if job not in before["jobs"]]
    assert len(staged) == n
    assert all(0 < stack.client.ttl(job) <= staging.STAGING_TTL_S for job in staged)
    figure(
        f"queue run of {n} jobs cut before its commit: 503, nothing queued or listed, the {n} "
        f"staged jobs expire within {staging.STAGING_TTL_S} s"
    )


def test_a_staged_run_commits_every_job_once(private_stack, settings, origin_url):
    stack = private_stack()
    n = staging.STAGE_ABOVE + 7
    spec = RunSpec(tuple(f"{origin_url}/delay/0?n={i}" for i in range(n)), Strategy.QUEUE)
    run_id = submit_run(stack.client, fanout_queue(stack.client), spec, settings)
    queued = stack.client.lrange(fanout_queue(stack.client).key, 0, -1)
    assert len(queued) == len(set(queued)) == n
    assert all(stack.client.ttl(Job.key_for(job.decode())) == -1 for job in queued[:50])
    stack.add_workers(2)
    wait_for_run(stack.client, run_id, timeout_s=120)
    counts = check_run(stack.client, run_id)
    assert counts["ok"] == n and counts["duplicates"] == 0
