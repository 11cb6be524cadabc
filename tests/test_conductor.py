"""Orchestration has one home and one process: `fanout conductor` releases a comparison's runs
in turn (and drives sweeps, `tests/test_sweep.py`); a worker host runs no producer code."""

from __future__ import annotations

import subprocess
import sys
import time

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_comparison
from producer.wait import wait_for_run
from tests.checker import check_run
from tests.support import alive_workers, start_conductor, start_worker, wait_until

#: What a worker host loads: the CLI module `fanout worker` starts from and the worker package.
WORKER_HOST_IMPORTS = "import fanout.cli, worker.supervisor, worker.process, worker.jobs"


def test_a_worker_host_loads_no_producer_conductor_or_web_code():
    code = (
        f"import sys; {WORKER_HOST_IMPORTS}; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'producer', 'conductor', 'web'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def test_only_the_conductor_releases_a_comparisons_next_run(
    private_redis, private_redis_service, stack_env, origin_url, tmp_path
):
    env = dict(stack_env, REDIS_URL=private_redis_service.url)
    worker = start_worker(tmp_path, env, name="lone-worker")
    conductor = None
    try:
        wait_until(lambda: len(alive_workers(private_redis)) == 1, 30, "1 worker")
        spec = RunSpec(tuple(f"{origin_url}/delay/50?n={i}" for i in range(4)), Strategy.THREADS, 2)
        strategies = [Strategy.SEQUENTIAL, Strategy.QUEUE]
        comparison_id, (first, second) = submit_comparison(
            private_redis, fanout_queue(private_redis), spec, Settings.from_env(env), strategies
        )
        wait_for_run(private_redis, first, timeout_s=60)
        # The workers' housekeeping passes (every 2 s) come and go: none releases the next run.
        time.sleep(5)
        assert private_redis.hget(keys.run_key(second), "state") == b"queued"
        assert private_redis.llen(fanout_queue(private_redis).key) == 0
        conductor = start_conductor(tmp_path, env)
        wait_for_run(private_redis, second, timeout_s=60)
        assert check_run(private_redis, second)["ok"] == 4
        wait_until(
            lambda: not private_redis.sismember(keys.active_comparisons_key(), comparison_id),
            30,
            "the comparison to leave the active set",
        )
    finally:
        worker.stop(timeout_s=30)
        if conductor is not None:
            conductor.stop()
