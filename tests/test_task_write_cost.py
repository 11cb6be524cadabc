"""What one flush of one task's end costs Redis inside the task writer's script (a queue job's
whole write), on a redis-server of the test's own."""

from __future__ import annotations

from contract import keys
from tests.test_recorder import _end, _run, _start
from worker.task_writer import TaskWriter


def _commands(redis) -> int:
    stats = redis.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def test_one_end_into_a_started_run_costs_one_call_of_17_commands(private_redis) -> None:
    """The run's head (total, start, kept maxima) is read once; a run already started is not
    marked started again."""
    run_id = _run(private_redis, 3)
    writer = TaskWriter(private_redis, 3600)
    writer.finish(run_id, [_end(_start(0))])  # loads the script, starts the run
    before = _commands(private_redis)
    assert writer.finish(run_id, [_end(_start(1))]) == 1
    assert _commands(private_redis) - before <= 1 + 17
    run = private_redis.hgetall(keys.run_key(run_id))
    assert int(run[b"done"]) == 2 and int(run[b"t_timed"]) == 2


def test_an_end_into_a_run_without_a_total_still_finds_the_run(private_redis) -> None:
    """A run record always has its total; without one, the record still exists: the write is
    not told the run is gone."""
    run_id = _run(private_redis, 2)
    private_redis.hdel(keys.run_key(run_id), "total")
    writer = TaskWriter(private_redis, 3600)
    assert writer.finish(run_id, [_end(_start(0))]) == 0  # outside the run's (zero) tasks
