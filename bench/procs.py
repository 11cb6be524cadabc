"""Entry points of the bench's child processes: `python -m bench.procs WHAT ...`.

* `worker KIND CLASS`: a long-lived worker. KIND `fanout` is fanout's own worker
  (`worker.process.run_worker`, unsupervised); `bare` is a plain `rq.SimpleWorker` (CLASS
  `simple`) or `rq.Worker` (CLASS `fork`) on the bench's bare queue, with the JSON serializer.
* `burst KIND CLASS RESULT`: the same worker in burst mode over jobs enqueued beforehand; writes
  `{"wall_s": ...}` to RESULT, timed around the work loop alone (imports and interpreter start-up
  are left out for both kinds alike).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rq.worker import BaseWorker


def _bare_worker(cls: str) -> BaseWorker:
    from redis import Redis
    from rq import Queue, SimpleWorker, Worker
    from rq.serializers import JSONSerializer

    import bench.jobs  # noqa: F401 - preloaded before any fork, as fanout's worker does
    from bench.stack import BARE_QUEUE
    from contract.settings import Settings

    redis = Redis.from_url(Settings.from_env().redis_url)  # a bare baseline: nothing of fanout
    worker_cls: type[BaseWorker] = SimpleWorker if cls == "simple" else Worker
    queue = Queue(BARE_QUEUE, connection=redis, serializer=JSONSerializer)
    return worker_cls([queue], connection=redis, serializer=JSONSerializer)


def run(kind: str, cls: str, burst: bool) -> float:
    """Run one worker; returns the seconds its work loop took."""
    if kind == "fanout":
        from contract.settings import Settings
        from worker.process import run_worker, wait_for_redis

        settings = Settings.from_env()
        wait_for_redis(settings)
        started = time.perf_counter()
        run_worker(settings, worker_class=cls, burst=burst)
        return time.perf_counter() - started
    if kind == "bare":
        worker = _bare_worker(cls)
        started = time.perf_counter()
        worker.work(burst=burst, logging_level="INFO", with_scheduler=False)
        return time.perf_counter() - started
    raise SystemExit(f"unknown worker kind {kind!r}")


def main(argv: list[str]) -> None:
    match argv:
        case ["worker", kind, cls]:
            run(kind, cls, burst=False)
        case ["burst", kind, cls, result]:
            Path(result).write_text(json.dumps({"wall_s": run(kind, cls, burst=True)}))
        case _:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
