"""`GET /metrics`: Prometheus text.

gunicorn runs several processes and a scrape reaches one of them, so everything about the system
(runs, tasks by state, queue depth, live workers, throughput) is a gauge read from Redis at scrape
time by a custom Collector: every process answers the same. Only the request latency histogram and
the submission counter are per process; set PROMETHEUS_MULTIPROC_DIR (an empty directory shared by
the processes) to have prometheus_client add them up across processes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from contract import fleet, keys
from producer import stats
from producer.workers import queue_counts
from web.clients import EXTENSION as CLIENTS

bp = Blueprint("metrics", __name__)

EXTENSION = "fanout_metrics"
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
THROUGHPUT_WINDOW_S = 10


class RedisCollector(Collector):
    """Gauges read from Redis on every scrape; `fanout_redis_up 0` when Redis does not answer."""

    def __init__(self, redis: Redis, queue: Queue) -> None:
        self.redis = redis
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        try:
            totals = stats.task_totals(self.redis)
            counts = queue_counts(self.queue)
            live = fleet.count_alive(self.redis)
            series = stats.throughput_series(self.redis, window_s=THROUGHPUT_WINDOW_S)
        except RedisError:
            yield _gauge("fanout_redis_up", "1 when Redis answered this scrape.", {"": 0})
            return
        yield _gauge("fanout_redis_up", "1 when Redis answered this scrape.", {"": 1})
        yield _gauge("fanout_runs", "Runs retained in Redis (the last FANOUT_TTL_S), by state.",
                     totals["runs"], "state")  # fmt: skip
        yield _gauge("fanout_tasks", "Tasks of the retained runs, by state.", totals["tasks"],
                     "state")  # fmt: skip
        depth = {"": counts.pop("queued")}
        yield _gauge("fanout_queue_depth", "Jobs waiting in fanout's RQ queue.", depth)
        yield _gauge("fanout_queue_registry_jobs", "Jobs in each RQ registry of fanout's queue.",
                     counts, "registry")  # fmt: skip
        doc = f"Workers whose heartbeat is younger than {keys.ALIVE_TTL_S} s."
        yield _gauge("fanout_live_workers", doc, {"": live})
        doc = f"Tasks ended per second, mean over the last {THROUGHPUT_WINDOW_S} complete seconds."
        rate = series["total_tasks"] / THROUGHPUT_WINDOW_S
        yield _gauge("fanout_tasks_per_second", doc, {"": rate})


def _gauge(name: str, doc: str, values: Mapping[str, float], label: str = "") -> GaugeMetricFamily:
    """A gauge of one value (under the key "") or of one value per `label`."""
    family = GaugeMetricFamily(name, doc, labels=[label] if label else None)
    for value_label, value in values.items():
        family.add_metric([value_label] if label else [], value)
    return family


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    latency: Histogram
    submissions: Counter


def init_metrics(app: Flask) -> None:
    """A registry per app (tests build many apps), or the multiprocess collector under gunicorn
    when PROMETHEUS_MULTIPROC_DIR is set."""
    client = app.extensions[CLIENTS]
    registry = CollectorRegistry(auto_describe=True)
    multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    own = None if multiprocess else registry
    if multiprocess:
        MultiProcessCollector(registry)
    metrics = Metrics(
        registry=registry,
        latency=Histogram(
            "fanout_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=own,
        ),
        submissions=Counter(
            "fanout_web_runs_submitted",
            "Runs submitted through the web app, by the form (URLs pasted or uploaded) or the "
            "API, each once; a comparison counts each of its runs.",
            ["kind"],
            registry=own,
        ),
    )
    registry.register(RedisCollector(client.redis, client.queue))
    app.extensions[EXTENSION] = metrics
    app.before_request(_start_timer)
    app.after_request(_observe)


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("request_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        current_app.extensions[EXTENSION].latency.labels(
            request.method, route, str(response.status_code)
        ).observe(time.perf_counter() - started)
    return response


def count_submission(kind: str, runs: int) -> None:
    current_app.extensions[EXTENSION].submissions.labels(kind).inc(runs)


@bp.get("/metrics")
def scrape() -> Response:
    registry = current_app.extensions[EXTENSION].registry
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
