"""A warm stop whose Redis is gone ends soon, saying so, instead of retrying Redis for the whole
grace and then being killed: `fanout up` with REDIS_URL pointing at a Redis that stops at the
same moment as the stack (a compose Redis stopped together with it)."""

from __future__ import annotations

import contextlib
import os
import signal

import psutil
import pytest
import redis as redis_lib

from contract import keys
from contract.records import RunSpec
from contract.settings import Settings
from contract.states import Strategy
from producer.connection import fanout_queue
from producer.submit import submit_run
from tests.support import alive_workers, free_port, start_redis, start_up, wait_until


@pytest.mark.slow  # on the code it fixes, the stop waited the workers' whole 90 s grace
def test_a_warm_stop_without_redis_ends_without_waiting_out_the_grace(tmp_path):
    redis = start_redis(tmp_path)
    ports = {name: str(free_port()) for name in ("WEB_PORT", "ORIGIN_PORT")}
    env = {k: v for k, v in os.environ.items() if k not in ("ORIGIN_URL", "FANOUT_ALLOW_HOSTS")}
    env.update(ports, REDIS_URL=redis.url, FANOUT_DATA_DIR=str(tmp_path / "data"))
    log_path = tmp_path / "up.log"
    proc = start_up(env, log_path)
    family: list[psutil.Process] = []
    try:
        client = redis_lib.Redis.from_url(redis.url)
        wait_until(lambda: len(alive_workers(client)) == 2, 90, "2 workers")
        origin = f"http://127.0.0.1:{ports['ORIGIN_PORT']}"
        spec = RunSpec((f"{origin}/delay/3000",), Strategy.QUEUE)
        run_id = submit_run(client, fanout_queue(client), spec, Settings.from_env(env))
        wait_until(lambda: client.hlen(keys.running_key(run_id)) >= 1, 30, "a task running")
        family = psutil.Process(proc.pid).children(recursive=True)

        redis.signal_group(signal.SIGKILL)  # Redis goes at the moment the stack is stopped
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=180)
        text = log_path.read_text(errors="replace")
        assert "did not stop in" not in text, text[-3000:]
        assert "Redis unreachable: stopping without reporting" in text, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for process in family:
            with contextlib.suppress(psutil.Error):
                process.kill()
        redis.stop()
