"""Live worker control: supervisors (`fanout worker --pool N`) grow and shrink to the target in
Redis, spread a total over the live hosts, and retire workers warm (nothing lost or doubled).

Each test has its own Redis: the session's workers must never follow a test's target.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import signal
import time

from rq.worker_pool import WorkerPool

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from contract.target import Target, TargetMode, live_hosts, shares, write_target
from producer.connection import fanout_queue
from producer.scaling import live_per_host
from producer.submit import submit_run
from producer.wait import wait_for_run
from tests.checker import check_run
from tests.support import alive_workers, wait_until

#: The RQ 2.12.0 methods `worker.supervisor.ElasticPool` overrides or relies on, by the SHA-256
#: of their source. If RQ changes one, re-read it against ElasticPool before updating the hash.
RQ_POOL_METHODS = {
    "check_workers": "15f8dac4748b901d",
    "start": "3f4a0809f1c7c0b8",
    "start_worker": "1f2d8debc7dabb83",
    "stop_worker": "e973ef9c6b5d94c5",
    "stop_workers": "c664a9af16794dee",
    "reap_workers": "807b0ecb49d39726",
    "request_stop": "0b933f9e532da201",
}


def _source_hash(name: str) -> str:
    return hashlib.sha256(inspect.getsource(getattr(WorkerPool, name)).encode()).hexdigest()[:16]


def test_rq_worker_pool_methods_the_supervisor_relies_on_are_unchanged():
    changed = {name: _source_hash(name) for name in RQ_POOL_METHODS}
    changed = {name: h for name, h in changed.items() if h != RQ_POOL_METHODS[name]}
    assert not changed, f"RQ's WorkerPool changed; re-check worker/supervisor.py: {changed}"


def test_a_total_is_spread_evenly_over_hosts_in_name_order():
    target = Target(TargetMode.TOTAL, 5)
    assert shares(target, ["b", "a", "c"]) == {"a": 2, "b": 2, "c": 1}
    assert shares(Target(TargetMode.TOTAL, 1), ["b", "a"]) == {"a": 1, "b": 0}
    assert shares(Target(TargetMode.PER_HOST, 3), ["a", "b"]) == {"a": 3, "b": 3}
    assert shares(target, []) == {}


def _live(client) -> int:
    return len(alive_workers(client))


def _spans(client) -> dict[str, dict]:
    return {
        name.decode(): json.loads(raw)
        for name, raw in client.hgetall(keys.worker_spans_key()).items()
    }


def test_pool_grows_and_shrinks_to_the_target(fleet):
    client = fleet.client
    fleet.start("sup-h1", host="h1", pool=1)
    wait_until(lambda: _live(client) == 1, 30, "the --pool default of 1 worker")
    write_target(client, Target(TargetMode.PER_HOST, 3))
    wait_until(lambda: _live(client) == 3, 30, "3 workers after growing")
    before = alive_workers(client)
    write_target(client, Target(TargetMode.TOTAL, 1))
    wait_until(lambda: _live(client) == 1, 30, "1 worker after shrinking")
    time.sleep(2.5)  # RQ's pool would have respawned them by now
    assert _live(client) == 1
    retired = before - alive_workers(client)
    spans = _spans(client)
    assert len(retired) == 2
    assert all(spans[name]["left_at"] is not None for name in retired), "left cleanly"
    assert live_per_host(client) == {"h1": 1}


def test_a_total_is_spread_over_live_hosts_and_a_host_may_run_none(fleet):
    client = fleet.client
    fleet.start("sup-host-a", host="host-a")
    fleet.start("sup-host-b", host="host-b")
    wait_until(lambda: live_hosts(client) == ["host-a", "host-b"], 30, "two live hosts")
    write_target(client, Target(TargetMode.TOTAL, 3))
    wait_until(lambda: live_per_host(client) == {"host-a": 2, "host-b": 1}, 30, "a 2/1 split")
    write_target(client, Target(TargetMode.TOTAL, 1))
    wait_until(lambda: live_per_host(client) == {"host-a": 1}, 30, "a 1/0 split")
    assert live_hosts(client) == ["host-a", "host-b"], "a host with no worker is still live"
    info = json.loads(client.hget(keys.host_info_key(), "host-b"))
    assert info["running"] == 0 and info["share"] == 0


def test_two_supervisors_with_one_name_take_two_names(fleet):
    client = fleet.client
    fleet.start("sup-twin", host="twin")
    wait_until(lambda: live_hosts(client) == ["twin"], 30, "the first twin")
    fleet.start("sup-twin", host="twin")
    wait_until(lambda: live_hosts(client) == ["twin", "twin/2"], 30, "the second as twin/2")
    write_target(client, Target(TargetMode.TOTAL, 2))
    wait_until(lambda: live_per_host(client) == {"twin": 1, "twin/2": 1}, 30, "1 each")
    assert live_hosts(client) == ["twin", "twin/2"]


def test_shrinking_mid_run_finishes_the_jobs_in_hand_even_when_the_stack_stops(fleet, origin_url):
    """Retired workers finish their job, and a stop signal to the whole process group more than a
    second later (Ctrl-C on `fanout up`) is still a warm stop for them, not RQ's cold one."""
    client, env = fleet.client, fleet.env
    env.update(FANOUT_READ_TIMEOUT_S="10", FANOUT_TASK_DEADLINE_S="20")  # 6 s fetches
    service = fleet.start("sup-h1", host="h1", pool=2)
    wait_until(lambda: _live(client) == 2, 30, "2 workers")
    urls = tuple(f"{origin_url}/delay/6000?n={i}" for i in range(2))
    spec = RunSpec(urls, Strategy.QUEUE, 1)
    run_id = submit_run(client, fanout_queue(client), spec, Settings.from_env(env))
    wait_until(lambda: client.hlen(keys.running_key(run_id)) == 2, 30, "both workers busy")
    write_target(client, Target(TargetMode.PER_HOST, 0))
    wait_until(
        lambda: json.loads(client.hget(keys.host_info_key(), "h1") or "{}").get("stopping") == 2,
        10,
        "both retiring",
    )
    time.sleep(1.2)  # past RQ's 1 s window in which a second signal is ignored
    assert client.hlen(keys.tasks_key(run_id)) == 0, "the jobs are still in hand"
    service.signal_group(signal.SIGTERM)
    service.proc.wait(timeout=60)
    record = wait_for_run(client, run_id, timeout_s=30)
    counts = check_run(client, run_id)
    assert counts.get("ok") == 2, record["counts"]
    assert counts["duplicates"] == 0
    assert "cold shut down" not in service.log()


def test_a_tick_hook_that_finds_redis_away_logs_one_line_not_a_traceback(private_redis, caplog):
    """The stack stops Redis with the workers; a hook (the sweep driver's tick) that runs in that
    window must say so in one line (CI saw a traceback in the warm stop without Redis)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Worker

    from worker.supervisor import ElasticPool, HostLease

    def redis_gone() -> None:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    pool = ElasticPool(
        private_redis,
        HostLease(private_redis, "hook-host"),
        default_size=0,
        max_size=0,
        worker_class=Worker,
        tick_hooks=[redis_gone],
    )
    with caplog.at_level("WARNING", logger="worker.supervisor"):
        pool.check_workers(respawn=False)
    lines = [r for r in caplog.records if r.name == "worker.supervisor"]
    assert [r.exc_info for r in lines] == [None], [r.getMessage() for r in lines]
    assert "Redis unreachable" in lines[0].getMessage()


def test_a_job_that_cannot_report_its_end_without_redis_logs_one_line(private_redis, caplog):
    """fanout's job path sends nothing to Redis between the job and its failure handling, so a
    job whose last flush met Redis gone reaches RQ's exception logging: one line, no traceback
    (the slow warm-stop-without-Redis test saw the traceback)."""
    import sys
    import uuid

    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue
    from rq.serializers import JSONSerializer

    from worker.process import FanoutSimpleWorker

    queue = Queue(f"gone-{uuid.uuid4().hex[:8]}", connection=private_redis)
    worker = FanoutSimpleWorker([queue], connection=private_redis, serializer=JSONSerializer)
    job = queue.enqueue("worker.jobs.noop", serializer=JSONSerializer)
    try:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
    except RedisConnectionError:
        exc_info = sys.exc_info()
    with caplog.at_level("INFO"):
        worker.handle_exception(job, *exc_info)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Redis unreachable" in text and "Traceback" not in text, text
