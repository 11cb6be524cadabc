"""JSON Schemas (2020-12, as OpenAPI 3.1 uses) of every body the API sends or takes.

Kept next to the code that builds the bodies (producer.reader, producer.workers, producer.stats):
tests/web validate real responses against them, so a drift fails a test, not a client.
"""

from __future__ import annotations

from typing import Any

from contract import keys
from contract.settings import Settings
from contract.states import RunState, Strategy, TaskState, Workload
from contract.target import TargetMode
from producer.validation import MAX_URL_LENGTH
from web.openapi_cost import COST_PROPERTY, cost_schemas
from web.repeat import MAX_REPEAT

REF = "#/components/schemas/"

NUMBER_OR_NULL = {"type": ["number", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}
STRING_OR_NULL = {"type": ["string", "null"]}
COUNT = {"type": "integer", "minimum": 0}

STRATEGY = {"type": "string", "enum": [s.value for s in Strategy]}
WORKLOAD = {"type": "string", "enum": [w.value for w in Workload]}
TASK_STATE = {"type": "string", "enum": [s.value for s in TaskState]}
RUN_STATE = {"type": "string", "enum": [s.value for s in RunState]}
ID = {"type": "string", "pattern": f"^{keys.ID_PATTERN}$", "description": "12 hex digits"}

_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LABEL_END = "([A-Za-z0-9-]*[A-Za-z0-9])?"
#: A canonical dotted quad, or a name whose last label starts with a letter: a last label that
#: is a number (`127.1`, `0x7f`, `2130706433`) is read as an address by libc and refused by
#: aiohttp, so both clients would not agree on it (contract.urls).
_HOST = f"({_OCTET}(\\.{_OCTET}){{3}}|([A-Za-z0-9]{_LABEL_END}\\.)*[A-Za-z]{_LABEL_END})"
#: The URLs the API takes: http(s), a host name or IPv4 address (letters, digits, dots, dashes),
#: an optional port (1 to 65535), then anything but spaces and control characters. The API
#: checks it too (web.api), so what this document calls valid is exactly what is accepted. The
#: form is more lenient (producer.validation alone): IPv6 literals, user info.
URL_PATTERN = f"[Hh][Tt][Tt][Pp][Ss]?://{_HOST}(:{_PORT})?([/?#][^\\x00-\\x20\\x7f]*)?"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def object_schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


def _state_counts() -> dict[str, Any]:
    return object_schema({state.value: COUNT for state in TaskState})


def schemas(settings: Settings) -> dict[str, Any]:
    """The components; limits (URLs per run, concurrency) are the server's current settings."""
    http_url = {
        "type": "string",
        "minLength": 8,
        "maxLength": MAX_URL_LENGTH,
        "pattern": f"^{URL_PATTERN}$",
        "description": "An http(s) URL: a host name or IPv4 address, an optional port, no spaces",
    }
    spec = object_schema(
        {
            "urls": {
                "type": "array",
                "items": {"type": "string"},
                "description": "With the tasks of a page: the URLs of its indexes (`offset` on)",
            },
            "strategy": STRATEGY,
            "concurrency": {"type": "integer", "minimum": 1},
            "workload": WORKLOAD,
        },
        required=["strategy", "concurrency", "workload"],
    )
    task = object_schema(
        {
            "index": COUNT,
            "url": {"type": "string"},
            "state": TASK_STATE,
            "status_code": INT_OR_NULL,
            "bytes": COUNT,
            "error": STRING_OR_NULL,
            "started_at": NUMBER_OR_NULL,
            "finished_at": NUMBER_OR_NULL,
            "duration_s": NUMBER_OR_NULL,
            "cpu_s": NUMBER_OR_NULL,
            "worker": STRING_OR_NULL,
            "host": STRING_OR_NULL,
            "pid": INT_OR_NULL,
            "thread": STRING_OR_NULL,
            "cores": INT_OR_NULL,
            "attempt": {"type": "integer", "minimum": 1},
        }
    )
    start = object_schema(
        {
            "index": COUNT,
            "url": {"type": "string"},
            "started_at": {"type": "number"},
            "worker": {"type": "string"},
            "host": {"type": "string"},
            "pid": {"type": "integer"},
            "thread": {"type": "string"},
            "attempt": {"type": "integer", "minimum": 1},
        }
    )
    summary = object_schema(
        {
            "tasks": COUNT,
            "timed": COUNT,
            "wall_s": NUMBER_OR_NULL,
            "latency_s": NUMBER_OR_NULL,
            "sum_s": {"type": "number"},
            "work_s": {"type": "number"},
            "ideal_s": NUMBER_OR_NULL,
            "efficiency": NUMBER_OR_NULL,
            "speedup": NUMBER_OR_NULL,
            "peak_concurrency": INT_OR_NULL,
            "throughput_per_s": NUMBER_OR_NULL,
            "slots": COUNT,
            "cores": INT_OR_NULL,
            "counts": ref("StateCounts"),
        }
    )
    run_properties = {
        "id": ID,
        "spec": ref("RunSpec"),
        "state": RUN_STATE,
        "total": COUNT,
        "done": COUNT,
        "counts": ref("StateCounts"),
        "duplicates": COUNT,
        "jobs": COUNT,
        "workers_at_start": COUNT,
        "comparison": {"anyOf": [ID, {"type": "null"}]},
        "submitted_at": NUMBER_OR_NULL,
        "started_at": NUMBER_OR_NULL,
        "finished_at": NUMBER_OR_NULL,
        "first_task_at": NUMBER_OR_NULL,
        "summary": ref("Summary"),
    }
    run = object_schema(
        run_properties
        | {
            "tasks": {"type": "array", "items": ref("Task"), "description": "Ended tasks by index"},
            "running": {
                "type": "array",
                "items": ref("Start"),
                "description": "Started, not ended",
            },
            "cost": COST_PROPERTY,
            "now": {"type": "number", "description": "The server's clock, epoch seconds"},
            "since": {
                "type": "integer",
                "minimum": 0,
                "description": "Echoes the `since` parameter: `tasks` holds only newer ones",
            },
            "offset": {"type": "integer", "minimum": 0, "description": "The page's first index"},
            "limit": {"type": "integer", "minimum": 1, "description": "The page's size"},
            "next_offset": {
                "type": ["integer", "null"],
                "description": "The next page's `offset`, null on the last page",
            },
        },
        required=list(run_properties),
    )
    submission = {
        "type": "object",
        "properties": {
            "urls": {
                "type": "array",
                "items": http_url,
                "minItems": 1,
                "maxItems": settings.max_urls,
            },
            "strategy": STRATEGY,
            "concurrency": {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_concurrency,
                "default": 8,
            },
            "workload": WORKLOAD | {"default": Workload.FETCH.value},
            "compare": {
                "type": "boolean",
                "default": False,
                "description": "Run the batch under every strategy (or `strategies`), in turn",
            },
            "strategies": {
                "type": "array",
                "items": STRATEGY,
                "minItems": 1,
                "uniqueItems": True,
                "description": "With compare: the strategies to run, in order (default: all)",
            },
            "repeat": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_REPEAT,
                "default": 1,
                "description": "With compare: run each strategy this many times, interleaved; "
                "the comparison shows each strategy's median and range",
            },
        },
        "required": ["urls"],
        "anyOf": [
            {"required": ["strategy"]},
            {"required": ["compare"], "properties": {"compare": {"const": True}}},
        ],
    }
    link = object_schema({"id": ID, "strategy": STRATEGY, "url": {"type": "string"}})
    worker = object_schema(
        {
            "name": {"type": "string"},
            "host": STRING_OR_NULL,
            "pid": INT_OR_NULL,
            "state": {"type": "string"},
            "current_job": {
                "anyOf": [
                    {"type": "null"},
                    object_schema(
                        {
                            "id": {"type": "string"},
                            "description": STRING_OR_NULL,
                            "run_id": STRING_OR_NULL,
                        }
                    ),
                ]
            },
            "jobs_done": COUNT,
            "jobs_failed": COUNT,
            "working_s": {"type": "number"},
            "born_at": NUMBER_OR_NULL,
            "rq_heartbeat_at": NUMBER_OR_NULL,
            "heartbeat_at": NUMBER_OR_NULL,
            "alive": {"type": "boolean"},
        }
    )
    registries = ("queued", "started", "deferred", "scheduled", "finished", "failed", "canceled")
    series = {"type": "array", "items": COUNT}
    return {
        "Error": object_schema({"error": {"type": "string"}, "field": STRING_OR_NULL}),
        "RunSpec": spec,
        "StateCounts": _state_counts(),
        "Task": task,
        "Start": start,
        "Summary": summary,
        "Run": run,
        **cost_schemas(),
        "RunList": object_schema(
            {"runs": {"type": "array", "items": ref("Run")}, "limit": COUNT, "offset": COUNT}
        ),
        "Comparison": object_schema(
            {
                "id": ID,
                "spec": ref("RunSpec"),
                "submitted_at": NUMBER_OR_NULL,
                "state": RUN_STATE,
                "runs": {"type": "array", "items": ref("Run")},
                "now": {"type": "number"},
            }
        ),
        "Submission": submission,
        "RunAccepted": object_schema({"id": ID, "url": {"type": "string"}}),
        "ComparisonAccepted": object_schema(
            {"id": ID, "url": {"type": "string"}, "runs": {"type": "array", "items": link}}
        ),
        **_scaling_schemas(settings, submission["properties"]["urls"]),
        "Worker": worker,
        "Workers": object_schema(
            {
                "now": {"type": "number"},
                "queue": object_schema(
                    {"name": {"type": "string"}} | {r: COUNT for r in registries}
                ),
                "workers": {"type": "array", "items": ref("Worker")},
                "live": COUNT,
                "gone": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "name": {"type": "string"},
                            "host": {"type": "string"},
                            "joined_at": {"type": "number"},
                            "left_at": {"type": "number"},
                            "heartbeat_at": NUMBER_OR_NULL,
                            "how": {"type": "string"},
                        }
                    ),
                },
            }
        ),
        "Stats": object_schema(
            {
                "start": {"type": "integer"},
                "end": {"type": "integer"},
                "step_s": {"const": 1},
                "seconds": {"type": "array", "items": {"type": "integer"}},
                "tasks": series,
                "workers": series,
                "total_tasks": COUNT,
                "peak_tasks_per_s": COUNT,
                "live_workers": COUNT,
            }
        ),
        "Health": object_schema(
            {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "redis": {"type": "string", "enum": ["ok", "unreachable"]},
                "error": {"type": "string"},
                "persistence": {
                    "type": ["object", "null"],
                    "description": "Whether a Redis restart would lose queued work "
                    "(`durability`: aof, snapshots, none or unknown), with a sentence to show",
                },
            },
            required=["status", "redis"],
        ),
    }


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return object_schema(properties) | {"additionalProperties": False}


def _scaling_schemas(settings: Settings, urls: dict[str, Any]) -> dict[str, Any]:
    """The worker target and sweeps (producer.scaling, producer.sweep)."""
    most = settings.max_workers_per_host
    sweep = {
        "strategy": {"type": "string", "enum": ["queue", "hybrid"], "default": "queue"},
        "workload": WORKLOAD,
        "concurrency": {"type": "integer", "minimum": 1, "maximum": settings.max_concurrency},
        "workers": {
            "type": "array",
            "items": {"type": "integer", "minimum": 1},
            "minItems": 1,
            "maxItems": 12,
            "uniqueItems": True,
        },
    }
    mode = {"type": "string", "enum": [m.value for m in TargetMode]}
    point = object_schema(
        {
            "workers": {"type": "integer", "minimum": 1},
            "throughput": NUMBER_OR_NULL,
            "wall_s": NUMBER_OR_NULL,
            "efficiency": NUMBER_OR_NULL,
            "run_id": ID,
            "others_cores": NUMBER_OR_NULL,
        }
    )
    fit = object_schema(
        {
            "lam": {"type": "number"},
            "sigma": {"type": "number", "minimum": 0},
            "kappa": {"type": "number", "minimum": 0},
            "r2": {"type": "number"},
            "peak_n": NUMBER_OR_NULL,
            "knee_n": INT_OR_NULL,
        }
    )
    series = {
        "anyOf": [object_schema({"n": {"type": "array"}, "x": {"type": "array"}}), {"type": "null"}]
    }
    return {
        "TargetRequest": {
            "oneOf": [
                _closed({"per_host": {"type": "integer", "minimum": 0, "maximum": most}}),
                _closed({"total": {"type": "integer", "minimum": 1}}),
            ],
            "description": "Every host runs per_host, or total is spread over the live hosts "
            "(at most live hosts x FANOUT_MAX_WORKERS_PER_HOST)",
        },
        "WorkerTarget": object_schema(
            {
                "target": {"anyOf": [object_schema({"mode": mode, "n": COUNT}), {"type": "null"}]},
                "hosts": {
                    "type": "array",
                    "items": object_schema(
                        {
                            "host": {"type": "string"},
                            "share": INT_OR_NULL,
                            "live": COUNT,
                            "running": INT_OR_NULL,
                            "stopping": COUNT,
                            "max": INT_OR_NULL,
                        }
                    ),
                },
                "live": COUNT,
                "max_per_host": COUNT,
                "sweep": STRING_OR_NULL,
            }
        ),
        "SweepRequest": {
            "description": "The batch as urls or a preset (io: 80 x /delay/200; cpu: 80 x the "
            "cpu workload), and the totals of workers to measure it at (409 beyond the live "
            "hosts x FANOUT_MAX_WORKERS_PER_HOST)",
            "oneOf": [
                object_schema(sweep | {"urls": urls}, required=["urls", "workers"])
                | {"additionalProperties": False},
                object_schema(
                    sweep | {"preset": {"type": "string", "enum": ["io", "cpu"]}},
                    required=["preset", "workers"],
                )
                | {"additionalProperties": False},
            ],
        },
        "SweepAccepted": object_schema({"id": ID, "url": {"type": "string"}}),
        "Sweep": object_schema(
            {
                "id": ID,
                "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "error": STRING_OR_NULL,
                "spec": {"type": "object"},
                "workers": {"type": "array", "items": {"type": "integer"}},
                "step": COUNT,
                "phase": STRING_OR_NULL,
                "run_id": STRING_OR_NULL,
                "driver": STRING_OR_NULL,
                "submitted_at": {"type": "number"},
                "finished_at": NUMBER_OR_NULL,
                "restore": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                "points": {"type": "array", "items": point},
                "fit": {"anyOf": [fit, {"type": "null"}]},
                "fit_note": STRING_OR_NULL,
                "curve": series,
                "ideal": series,
                "now": {"type": "number"},
            }
        ),
    }
