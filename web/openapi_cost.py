"""JSON Schemas of a run's `cost` (`contract.cost.summarize`): per host and in total, what the
processes that ran it cost the operating system."""

from __future__ import annotations

from typing import Any

from contract.cost import SUMMED

_REF = "#/components/schemas/"

_NOTES = {
    "workers": "Worker processes that ran jobs of the run",
    "memory_idle_bytes": "RSS of those workers when their first job of the run started",
    "memory_peak_bytes": "Peak RSS of each worker plus the USS of its pool children, summed",
    "memory_added_bytes": "Peak less the idle worker: what running the run added",
    "processes": "The workers and their pool children that ran the tasks",
    "processes_started": "Of those, children forked while the run ran",
    "threads": "Threads of those processes at their peak",
    "threads_started": "Threads that did not exist when their job started",
    "cpu_user_s": "CPU seconds in user mode, every thread of those processes",
    "cpu_system_s": "CPU seconds in the kernel, every thread of those processes",
}


def _figure(name: str) -> dict[str, Any]:
    kind = "number" if name.startswith("cpu_") else "integer"
    schema: dict[str, Any] = {"type": kind, "minimum": 0}
    if name in _NOTES:
        schema["description"] = _NOTES[name]
    return schema


def cost_schemas() -> dict[str, Any]:
    names = ("workers", *SUMMED)
    figures = {
        "type": "object",
        "properties": {name: _figure(name) for name in names},
        "required": list(names),
    }
    return {
        "CostFigures": figures,
        "Cost": {
            "type": "object",
            "properties": {
                "hosts": {"type": "object", "additionalProperties": {"$ref": _REF + "CostFigures"}},
                "total": {"$ref": _REF + "CostFigures"},
            },
            "required": ["hosts", "total"],
        },
    }


#: The run record's `cost` property: null until a worker has measured one of its jobs.
COST_PROPERTY = {
    "anyOf": [{"type": "null"}, {"$ref": _REF + "Cost"}],
    "description": "What the run cost the operating system, per host and in total",
}
