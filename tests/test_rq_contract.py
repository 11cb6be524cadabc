"""Guards for the RQ internals that `worker/process.py` (and its mixins `worker/bookkeeping.py`
and `worker/job_path.py`) override or rely on.

fanout's worker overrides methods of RQ's worker classes (written against RQ 2.12.0) and leans
on how RQ's own loop calls them; the per-job ones are pinned by the hash of RQ's source. A newer
RQ that renames a method, reorders its parameters or stops calling it would not break loudly:
the override would silently stop running (a warm shutdown that strands jobs again, a comparison
whose next run waits for housekeeping). Each test here names the RQ version it found and what
fanout relies on, so an upgrade fails on the line that needs re-reading.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest
import rq
import rq.worker_pool
from rq import executions
from rq.job import Job
from rq.queue import Queue
from rq.registry import BaseRegistry, StartedJobRegistry
from rq.worker import BaseWorker, SimpleWorker, Worker
from rq.worker_pool import WorkerPool

from contract import jobs, keys
from worker.job_path import FanoutJobPath
from worker.process import FanoutForkWorker, FanoutSimpleWorker, _FanoutMixin

#: The RQ release these overrides were written against and read line by line.
WRITTEN_AGAINST = "2.12.0"

WORKER_CLASSES = [BaseWorker, SimpleWorker, Worker]

#: Each overridden method: the parameters (after self), in order, that fanout passes to RQ's
#: method or receives from RQ's loop, and those of them that must keep a default.
OVERRIDES: dict[str, tuple[list[str], set[str]]] = {
    "_shutdown": ([], set()),
    "dequeue_job_and_maintain_ttl": (["timeout", "max_idle_time"], {"max_idle_time"}),
    "work": (["burst", "logging_level"], {"burst", "logging_level"}),
    "perform_job": (["job", "queue"], set()),
}


def _changed(what: str) -> str:
    return (
        f"RQ {rq.__version__} (fanout's worker/process.py was written against RQ "
        f"{WRITTEN_AGAINST}): {what}. Re-read the override in worker/process.py against the "
        "new RQ before upgrading."
    )


def _source(func: Callable[..., Any]) -> str:
    return inspect.getsource(func)


@pytest.mark.parametrize("cls", WORKER_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", sorted(OVERRIDES))
def test_each_overridden_method_exists_with_the_parameters_we_rely_on(
    cls: type[BaseWorker], name: str
) -> None:
    method = getattr(cls, name, None)
    assert callable(method), _changed(f"{cls.__name__}.{name} is gone")
    params = list(inspect.signature(method).parameters.values())
    assert params and params[0].name == "self", _changed(f"{cls.__name__}.{name} is not a method")
    expected, with_default = OVERRIDES[name]
    names = [p.name for p in params[1:]]
    assert names[: len(expected)] == expected, _changed(
        f"{cls.__name__}.{name}{inspect.signature(method)} no longer starts with "
        f"the parameters {expected}"
    )
    for param in params[1:]:
        if param.name in with_default:
            assert param.default is not inspect.Parameter.empty, _changed(
                f"{cls.__name__}.{name}: `{param.name}` lost its default"
            )
        elif param.name not in expected and param.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            assert param.default is not inspect.Parameter.empty, _changed(
                f"{cls.__name__}.{name} gained a required parameter `{param.name}` that "
                "fanout's override does not pass"
            )


def test_work_accepts_the_keywords_fanout_and_the_pool_pass() -> None:
    params = inspect.signature(BaseWorker.work).parameters
    for keyword in ("burst", "logging_level", "with_scheduler"):
        assert keyword in params, _changed(f"BaseWorker.work takes no `{keyword}`")
    assert inspect.signature(BaseWorker.perform_job).return_annotation in (bool, "bool"), _changed(
        "BaseWorker.perform_job no longer returns bool"
    )


def test_the_loop_still_calls_the_overrides_the_way_fanout_expects() -> None:
    """The overrides only work because RQ's loop calls them so: a signal runs `_shutdown`, the
    loop checks `_stop_requested` before each dequeue, dequeues with (timeout, max_idle_time)
    and ends on StopRequested."""
    request_stop = _source(BaseWorker.request_stop)
    assert "self._shutdown()" in request_stop, _changed("request_stop no longer calls _shutdown")
    work = _source(BaseWorker.work)
    assert "self._stop_requested" in work, _changed("work() no longer checks _stop_requested")
    assert "self.dequeue_job_and_maintain_ttl(timeout, max_idle_time)" in work, _changed(
        "work() no longer dequeues through dequeue_job_and_maintain_ttl(timeout, max_idle_time)"
    )
    assert "except StopRequested" in work, _changed("work() no longer ends on StopRequested")
    init = _source(BaseWorker.__init__)
    assert "self._stop_requested" in init, _changed("__init__ no longer sets _stop_requested")
    stock_shutdown = _source(BaseWorker._shutdown)
    assert "self.scheduler" in stock_shutdown and "self.stop_scheduler()" in stock_shutdown, (
        _changed("_shutdown no longer stops the scheduler the way fanout's copy does")
    )


def test_worker_pool_builds_workers_the_way_fanout_configures_it() -> None:
    params = inspect.signature(WorkerPool.__init__).parameters
    for name in ("queues", "connection", "num_workers", "worker_class", "serializer"):
        assert name in params, _changed(f"WorkerPool() takes no `{name}`")
    start = inspect.signature(WorkerPool.start).parameters
    for name in ("burst", "logging_level"):
        assert name in start, _changed(f"WorkerPool.start takes no `{name}`")
    run_worker = _source(rq.worker_pool.run_worker)
    assert "worker_class(" in run_worker and ".work(" in run_worker, _changed(
        "WorkerPool's run_worker no longer builds worker_class and calls its work()"
    )


def test_the_queue_internals_the_reconciler_reads() -> None:
    assert isinstance(inspect.getattr_static(Queue, "intermediate_queue_key"), property), _changed(
        "Queue.intermediate_queue_key is gone"
    )
    assert StartedJobRegistry.key_template == "rq:wip:{0}", _changed(
        "the started registry's key template changed (producer/sequence.py reads the registry)"
    )


def test_rqs_keys_live_under_the_prefix_fanout_scans() -> None:
    """`keys.RQ_PREFIX` is the one spelling of RQ's namespace outside RQ (the load test and the
    footprint benchmark scan it); each of RQ's key builders must still start with it."""
    prefixes = {
        "Job.redis_job_namespace_prefix": Job.redis_job_namespace_prefix,
        "Queue.redis_queue_namespace_prefix": Queue.redis_queue_namespace_prefix,
        "Worker.redis_worker_namespace_prefix": Worker.redis_worker_namespace_prefix,
        "StartedJobRegistry.key_template": StartedJobRegistry.key_template,
    }
    for name, prefix in prefixes.items():
        assert prefix.startswith(keys.RQ_PREFIX), _changed(f"{name} is {prefix!r}")


@pytest.mark.parametrize("cls", [FanoutSimpleWorker, FanoutForkWorker], ids=lambda c: c.__name__)
def test_fanout_workers_resolve_to_the_overrides(cls: type[BaseWorker]) -> None:
    """The mixin comes first in the MRO (after fanout's own mixins, which call on to it), so
    each override is what RQ's loop calls."""
    mro = cls.__mro__
    for name in OVERRIDES:
        if name == "perform_job":
            continue
        owner = next(c for c in mro if name in c.__dict__)
        assert owner is _FanoutMixin or (
            mro.index(owner) < mro.index(_FanoutMixin) and owner.__module__.startswith("worker.")
        ), f"{cls.__name__}.{name} does not resolve to fanout's override"
    assert "perform_job" in FanoutForkWorker.__dict__


#: The RQ 2.12.0 code `worker/job_path.py` and `worker/bookkeeping.py` replace, copy or call for
#: fanout's own jobs, by the SHA-256 of its source: the per-job methods they override (and the
#: RQ functions those call), the loop that calls them in this order, and the one-command helpers
#: the two transactions call. If RQ changes one, re-read the override against it, then update
#: the hash.
RQ_JOB_PATH_SOURCES: dict[str, tuple[Callable[..., Any], str]] = {
    "BaseWorker.prepare_execution": (BaseWorker.prepare_execution, "899b4eaa689fcf35"),
    "BaseWorker.prepare_job_execution": (BaseWorker.prepare_job_execution, "783c9dc74a37560b"),
    "BaseWorker.handle_execution_ended": (BaseWorker.handle_execution_ended, "23748b027980a6cd"),
    "BaseWorker.handle_job_success": (BaseWorker.handle_job_success, "d3a8e0ee111a7a5a"),
    "BaseWorker.perform_job": (BaseWorker.perform_job, "8f75687c851037b7"),
    "BaseWorker.work": (BaseWorker.work, "04b5cdf8e554d8a2"),
    "BaseWorker.heartbeat": (BaseWorker.heartbeat, "d00c83971db2d72f"),
    "BaseWorker.set_state": (BaseWorker.set_state, "bb8d4f1d93ff078b"),
    "BaseWorker.check_for_suspension": (BaseWorker.check_for_suspension, "e8095ae1fcf966bd"),
    "BaseWorker.register_death": (BaseWorker.register_death, "92e03f8d3c579ffa"),
    "BaseWorker.increment_successful_job_count": (
        BaseWorker.increment_successful_job_count,
        "077c6bb479dce619",
    ),
    "BaseWorker.increment_total_working_time": (
        BaseWorker.increment_total_working_time,
        "91a9441e7a19ed62",
    ),
    "SimpleWorker.execute_job": (SimpleWorker.execute_job, "d8a40d49f515b558"),
    "SimpleWorker.get_heartbeat_ttl": (SimpleWorker.get_heartbeat_ttl, "1ca53202c2d19241"),
    "Job.perform": (Job.perform, "d86f4829a8d297be"),
    "Job.prepare_for_execution": (Job.prepare_for_execution, "4e8e0eca634da20b"),
    "Job._handle_success": (Job._handle_success, "35b96f8229b6053d"),
    "Job.cleanup": (Job.cleanup, "16734aeb1eeab579"),
    "StartedJobRegistry.add_execution": (StartedJobRegistry.add_execution, "058aeccefc8e8ea8"),
    "StartedJobRegistry.remove_execution": (
        StartedJobRegistry.remove_execution,
        "e5ab5b1b503c5666",
    ),
    "BaseRegistry.add": (BaseRegistry.add, "2ae9a477b803b7db"),
    "executions.prepare_execution": (executions.prepare_execution, "67351870bec3fddb"),
    "executions.cleanup_execution": (executions.cleanup_execution, "2e97724f99a968f7"),
    "executions.Execution.create": (executions.Execution.create, "11d84f7f0f523489"),
}


def test_the_rq_code_fanouts_job_path_replaces_is_unchanged() -> None:
    changed = [
        name
        for name, (func, pinned) in RQ_JOB_PATH_SOURCES.items()
        if hashlib.sha256(_source(func).encode()).hexdigest()[:16] != pinned
    ]
    assert not changed, _changed(
        f"{', '.join(changed)} changed (worker/job_path.py and worker/bookkeeping.py replace "
        "or copy it)"
    )


def test_fanouts_simple_worker_runs_its_own_jobs_on_the_job_path() -> None:
    """The job path sits after fanout's other mixins and before RQ's classes."""
    mro = FanoutSimpleWorker.__mro__
    assert mro.index(_FanoutMixin) < mro.index(FanoutJobPath) < mro.index(SimpleWorker)
    assert jobs.RUN_TASKS in FanoutSimpleWorker.OWN_JOBS
