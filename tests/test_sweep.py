"""The worker target and scaling sweeps through the API, with real supervisors on a private
Redis: bounds, the token, one point per worker count, the target put back, and the failures."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys

import pytest

from contract import keys
from contract.target import Target, TargetMode, read_target, write_target
from producer.sweep import load_sweep
from tests.checker import check_run
from tests.support import alive_workers, start_conductor, wait_until
from tests.web.conftest import make_app
from tests.web.schema import assert_matches

TOKEN = "scale-token"


@pytest.fixture
def stack(fleet, settings):
    """The test's own Redis (`fleet`), one supervisor on it (host h1, one worker) and two apps:
    open, and with FANOUT_API_TOKEN set."""
    fleet.env["FANOUT_MAX_WORKERS_PER_HOST"] = "4"
    url = fleet.env["REDIS_URL"]
    ours = dataclasses.replace(settings, redis_url=url, max_workers_per_host=4)
    fleet.start("sup-h1", host="h1")
    wait_until(lambda: len(alive_workers(fleet.client)) == 1, 30, "1 worker")
    return {
        "client": fleet.client,
        "url": url,
        "api": make_app(ours).test_client(),
        "locked": make_app(dataclasses.replace(ours, api_token=TOKEN)).test_client(),
        "supervisors": fleet.started,
        "start": lambda host: fleet.start(f"sup-{host}", host=host),
        "fleet": fleet,
    }


def _put(client, body, **kwargs):
    return client.put("/api/workers/target", json=body, **kwargs)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"per_host": 5}, 400, "per_host"),  # over FANOUT_MAX_WORKERS_PER_HOST=4
        ({"per_host": -1}, 400, "per_host"),
        ({"total": 0}, 400, "total"),
        ({"total": 5}, 409, "total"),  # more than 1 live host x 4: depends on the hosts
        ({"total": 2, "per_host": 1}, 400, "target"),
        ({"total": "2"}, 400, "total"),
        ({"total": 2.5}, 400, "total"),
        ({"workers": 2}, 400, "target"),
    ],
)
def test_target_out_of_bounds_is_a_4xx_with_a_message(stack, body, status, field):
    response = _put(stack["api"], body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["field"] == field
    assert response.get_json()["error"]
    assert read_target(stack["client"]) is None


def test_target_needs_the_token_when_one_is_set(stack):
    assert _put(stack["locked"], {"total": 2}).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert _put(stack["locked"], {"total": 2}, headers=wrong).status_code == 401
    assert read_target(stack["client"]) is None
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert _put(stack["locked"], {"total": 2}, headers=right).status_code == 200


def test_put_target_grows_the_pool_and_get_reads_it_back(stack, settings):
    response = _put(stack["api"], {"total": 3})
    assert response.status_code == 200
    assert response.get_json()["target"] == {"mode": "total", "n": 3}
    wait_until(lambda: len(alive_workers(stack["client"])) == 3, 30, "3 workers")
    body = stack["api"].get("/api/workers/target").get_json()
    assert body["hosts"] == [
        {"host": "h1", "share": 3, "live": 3, "running": 3, "stopping": 0, "max": 4}
    ]
    assert body["live"] == 3
    assert_matches(settings, "WorkerTarget", body)


def _sweep(client, workers, **extra):
    body = {"strategy": "queue", "workers": workers} | extra
    return client.post("/api/sweeps", json=body)


def test_sweep_records_a_point_per_count_then_puts_the_target_back(stack, origin_url, settings):
    client, api = stack["client"], stack["api"]
    write_target(client, Target(TargetMode.PER_HOST, 1))
    urls = [f"{origin_url}/delay/100?n={i}" for i in range(12)]
    response = _sweep(api, [3, 1, 4, 2], urls=urls)
    assert response.status_code == 202, response.get_json()
    sweep_id = response.get_json()["id"]
    assert response.get_json()["url"] == f"/sweeps/{sweep_id}"
    assert _put(api, {"total": 2}).status_code == 409, "the sweep owns the target"
    assert _sweep(api, [1], urls=urls).status_code == 409, "one sweep at a time"

    def ended():
        body = api.get(f"/api/sweeps/{sweep_id}").get_json()
        return body if body["state"] in ("done", "failed") else None

    body = wait_until(ended, 180, "the sweep to end")
    assert body["state"] == "done", body["error"]
    assert_matches(settings, "Sweep", body)
    assert [p["workers"] for p in body["points"]] == [1, 2, 3, 4]
    for point in body["points"]:
        assert point["marks"] == [] and point["fitted"], point
        assert point["throughput"] > 0 and point["wall_s"] > 0
        assert 0 < point["efficiency"] <= 1.0001
        counts = check_run(client, point["run_id"])
        assert counts.get("ok") == 12
    assert body["fit"] is not None and body["fit"]["r2"] <= 1
    assert body["ideal"]["x"][0] == pytest.approx(body["fit"]["lam"])
    assert read_target(client) == Target(TargetMode.PER_HOST, 1), "the target is put back"
    assert not client.exists(keys.current_sweep_key())
    wait_until(lambda: len(alive_workers(client)) == 1, 30, "back to 1 worker")


def test_sweep_input_is_checked(stack):
    api = stack["api"]
    assert _sweep(api, [1, 5], preset="io").status_code == 409  # over 1 host x 4
    assert _sweep(api, [0, 1], preset="io").status_code == 400
    assert _sweep(api, [1, 2], preset="io", colour="red").status_code == 400
    assert _sweep(api, [1, 1], preset="io").status_code == 400
    assert _sweep(api, [], preset="io").status_code == 400
    assert _sweep(api, [1, 2], preset="io", strategy="threads").status_code == 400
    assert _sweep(api, [1, 2], preset="nope").status_code == 400
    assert _sweep(api, [1, 2], preset="io", urls=["http://a.example/"]).status_code == 400
    assert _sweep(api, [1, 2]).status_code == 400  # neither urls nor a preset
    assert not stack["client"].exists(keys.current_sweep_key()), "nothing was created"
    assert stack["locked"].post("/api/sweeps", json={"preset": "io"}).status_code == 401
    assert api.get("/api/sweeps/000000000000").status_code == 404


def test_sweep_whose_driver_dies_fails_with_a_message_and_restores_the_target(stack, origin_url):
    client, api = stack["client"], stack["api"]
    urls = [f"{origin_url}/delay/1000?n={i}" for i in range(20)]
    response = _sweep(api, [1, 2], urls=urls)
    sweep_id = response.get_json()["id"]
    wait_until(lambda: load_sweep(client, sweep_id)["phase"] == "run", 60, "the first run")
    assert read_target(client) == Target(TargetMode.TOTAL, 1)
    driver = client.hget(keys.sweep_key(sweep_id), "driver").decode()
    stack["fleet"].conductor.signal_group(signal.SIGKILL)  # the driver; a read fails the sweep
    body = wait_until(
        lambda: (b := load_sweep(client, sweep_id))["state"] == "failed" and b, 60, "failed"
    )
    assert "driver" in body["error"] and driver in body["error"]
    assert read_target(client) is None, "no target before the sweep: none after"
    assert not client.exists(keys.current_sweep_key())
    assert _put(api, {"per_host": 1}).status_code == 200, "the target is free again"


def test_a_new_conductor_fails_an_orphaned_sweep_while_the_workers_go_on(stack, origin_url):
    client, api = stack["client"], stack["api"]
    write_target(client, Target(TargetMode.PER_HOST, 1))
    urls = [f"{origin_url}/delay/1000?n={i}" for i in range(20)]
    sweep_id = _sweep(api, [1, 2], urls=urls).get_json()["id"]
    wait_until(lambda: client.hget(keys.sweep_key(sweep_id), "phase") == b"run", 60, "a run")
    driver = client.hget(keys.sweep_key(sweep_id), "driver").decode()
    fleet = stack["fleet"]
    fleet.conductor.signal_group(signal.SIGKILL)
    fleet.conductor = start_conductor(fleet.log_dir, fleet.env, name="conductor-2")
    wait_until(
        lambda: client.hget(keys.sweep_key(sweep_id), "state") == b"failed", 60, "failed by another"
    )
    assert read_target(client) == Target(TargetMode.PER_HOST, 1)
    error = client.hget(keys.sweep_key(sweep_id), "error").decode()
    assert driver in error, error
    assert len(alive_workers(client)) >= 1, "the workers were not the driver: they live on"
    assert json.loads(client.hget(keys.sweep_key(sweep_id), "points")) == []


def _fanout(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "fanout", *args], env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_cli_scales_and_prints_a_sweep_table(stack, origin_url, stack_env):
    client = stack["client"]
    env = dict(stack_env, REDIS_URL=stack["url"], FANOUT_MAX_WORKERS_PER_HOST="4")
    scaled = _fanout(env, "workers", "scale", "2")
    assert scaled.returncode == 0, scaled.stderr
    assert "[i] h1: 2 to run" in scaled.stdout
    wait_until(lambda: len(alive_workers(client)) == 2, 30, "2 workers")
    too_many = _fanout(env, "workers", "scale", "5", "--per-host")
    assert too_many.returncode == 2 and "per_host must be from 0 to 4" in too_many.stderr
    urls = [f"{origin_url}/delay/50?n={i}" for i in range(6)]
    swept = _fanout(env, "sweep", "--workers", "1,2", *urls)
    assert swept.returncode == 0, swept.stderr
    lines = swept.stdout.splitlines()
    assert lines[0] == "6 URLs, queue, fetch: sweep done"
    assert [line.split()[0] for line in lines[2:4]] == ["1", "2"]
    assert "no fit: 2 usable worker count(s), the USL needs 4" in swept.stdout
    assert "sweep page: " in swept.stdout
    assert read_target(client) == Target(TargetMode.TOTAL, 2), "put back after the sweep"


def test_workers_page_form_needs_the_token_when_one_is_set(stack):
    from tests.web.conftest import csrf_token

    locked = stack["locked"]
    page = locked.get("/workers")
    assert page.status_code == 200 and 'name="token"' in page.text
    form = {"csrf_token": csrf_token(page.text), "n": "2", "mode": "total"}
    refused = locked.post("/workers/target", data=form)
    assert refused.status_code == 401 and "API token" in refused.text
    assert read_target(stack["client"]) is None
    assert locked.post("/workers/target", data=form | {"token": TOKEN}).status_code == 303
    assert read_target(stack["client"]) == Target(TargetMode.TOTAL, 2)
    no_csrf = locked.post("/workers/target", data={"n": "1", "mode": "total", "token": TOKEN})
    assert no_csrf.status_code == 400


def test_sweep_that_never_sees_its_count_fails_and_restores_the_target(
    private_redis, settings, monkeypatch
):
    """A host that beats but runs no worker (its supervisor stalled, say): the driver waits for
    the count, then fails the sweep with a message instead of waiting forever."""
    import time

    from conductor import sweep_driver
    from contract.records import RunSpec
    from contract.states import Strategy
    from producer.sweep import create_sweep

    client = private_redis
    client.zadd(keys.hosts_key(), {"silent": time.time()})  # a live host, no worker
    write_target(client, Target(TargetMode.PER_HOST, 2))
    spec = RunSpec(("http://127.0.0.1:1/",), Strategy.QUEUE)
    sweep_id = create_sweep(client, spec, [1], 4, 600)
    driver = sweep_driver.SweepDriver(client, settings, host=lambda: "silent")
    driver.tick()
    assert read_target(client) == Target(TargetMode.TOTAL, 1), "the sweep's target"
    assert load_sweep(client, sweep_id)["state"] == "running"
    monkeypatch.setattr(sweep_driver, "SCALE_TIMEOUT_S", -1.0)
    driver.tick()
    body = load_sweep(client, sweep_id)
    assert body["state"] == "failed"
    assert "0 workers live, not 1" in body["error"]
    assert read_target(client) == Target(TargetMode.PER_HOST, 2)
    assert not client.exists(keys.current_sweep_key())


def _ended(api, sweep_id):
    def check():
        body = api.get(f"/api/sweeps/{sweep_id}").get_json()
        return body if body["state"] in ("done", "failed") else None

    return wait_until(check, 120, "the sweep to end")


def test_refused_only_sweep_shows_no_throughput_and_marks_the_point(stack, settings):
    """The guard refuses a private address: the run ends at once, having measured nothing."""
    api = stack["api"]
    sweep_id = _sweep(api, [1], urls=["http://10.0.0.1/"]).get_json()["id"]
    body = _ended(api, sweep_id)
    assert body["state"] == "done", body["error"]
    assert_matches(settings, "Sweep", body)
    (point,) = body["points"]
    assert point["throughput"] is None, "no task did its work: no throughput"
    assert point["marks"] == ["1 task refused"] and not point["fitted"]
    assert body["fit"] is None and "left out" in body["fit_note_marked"]
    page = api.get(f"/sweeps/{sweep_id}").text
    assert "1 task refused" in page and "left out of the fit" in page
    assert "244" not in page
    assert api.get(f"/api/sweeps/{sweep_id}?fit=all").status_code == 200
    assert api.get(f"/api/sweeps/{sweep_id}?fit=some").status_code == 400


def test_sweeps_are_listed(stack):
    api = stack["api"]
    assert api.get("/sweeps").status_code == 200, "the list exists with no sweep yet"
    sweep_id = _sweep(api, [1], urls=["http://10.0.0.1/"]).get_json()["id"]
    _ended(api, sweep_id)
    listing = api.get("/sweeps")
    assert listing.status_code == 200
    assert f'href="/sweeps/{sweep_id}"' in listing.text
    assert "1 marked" in listing.text and "no fit" in listing.text
    assert 'href="/sweeps"' in api.get("/runs").text, "the nav links the sweeps"


def test_a_sweeps_runs_link_back_to_it(stack):
    api = stack["api"]
    sweep_id = _sweep(api, [1], urls=["http://10.0.0.1/"]).get_json()["id"]
    run_id = _ended(api, sweep_id)["points"][0]["run_id"]
    assert api.get(f"/api/runs/{run_id}").get_json()["sweep"] == sweep_id
    runs = api.get("/runs").text
    row = next(line for line in runs.split("<tr") if f"/runs/{run_id}" in line)
    assert f'href="/sweeps/{sweep_id}"' in row, row
    assert f'href="/sweeps/{sweep_id}"' in api.get(f"/runs/{run_id}").text


def test_a_driver_tick_while_a_sweep_is_being_created_leaves_it_to_be_driven(
    private_redis, settings, monkeypatch
):
    """The conductor ticks once a second, whenever it likes: a tick that lands inside
    `create_sweep` (here, while it reads the target to restore) must not find a current sweep
    without its record, which it would take for an expired one and let go, orphaning it."""
    import time

    from conductor import sweep_driver
    from contract.records import RunSpec
    from contract.states import Strategy
    from producer import sweep

    client = private_redis
    client.zadd(keys.hosts_key(), {"h1": time.time()})
    driver = sweep_driver.SweepDriver(client, settings, host=lambda: "h1")
    read = sweep.read_target

    def read_while_the_conductor_ticks(redis):
        driver.tick()
        return read(redis)

    monkeypatch.setattr(sweep, "read_target", read_while_the_conductor_ticks)
    spec = RunSpec(("http://127.0.0.1:1/",), Strategy.QUEUE)
    sweep_id = sweep.create_sweep(client, spec, [1], 4, 600)
    assert client.get(keys.current_sweep_key()) == sweep_id.encode(), "the sweep was let go"
    driver.tick()
    assert load_sweep(client, sweep_id)["state"] == "running"
