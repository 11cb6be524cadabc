"""`GET /openapi.json`: OpenAPI 3.1 for everything a program may call.

Generated from the app's url_map (paths and their parameters) and each view's declaration
(web.operations: summary, query model, body, replies), so the document says what the views do
and validate; a rule under /api/ without a declaration is an error, not a gap. Built per request
from the settings, so the limits it states (URLs per run, concurrency) are the ones enforced.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from flask import Flask, current_app, has_app_context
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from contract.settings import Settings
from web import responses as r
from web.bodies import REF_TEMPLATE, body_schemas
from web.operations import Operation, Reply, declared, ok

JSON = "application/json"
TEXT = {"type": "string"}
HTML_414 = Reply("The request line is over 4094 bytes (gunicorn's answer)", media="text/html")
#: The routes outside /api/ that programs call, declared here: their views are pages and probes.
OTHERS = {
    "pages.run_as_csv": Operation(
        "exportRunCsv",
        "A run's tasks as CSV",
        {
            200: Reply("One row per task", media="text/csv"),
            404: Reply("No such run (an HTML page)", media="text/html"),
            503: Reply("Redis is unreachable (an HTML page)", media="text/html"),
        },
    ),
    "ops.healthz": Operation(
        "health",
        "200 when Redis answers, 503 when not",
        ok("Healthy", r.Health) | {503: Reply("Redis is unreachable", (r.Health,))},
        public=True,
    ),
    "metrics.scrape": Operation(
        "metrics",
        "Prometheus text exposition",
        {200: Reply("Metrics", media="text/plain")},
        public=True,
    ),
    "ops.openapi": Operation(
        "openapi", "This document", {200: Reply("OpenAPI 3.1", media=JSON)}, public=True
    ),
}
ERRORS = {
    400: "Invalid input: `error` says what, `field` which field (and line)",
    401: "FANOUT_API_TOKEN is set and the bearer token is missing or wrong",
    404: "No such run, comparison or sweep (never submitted, or expired)",
    409: "Conflict with the current state: the Idempotency-Key's comparison is still being "
    "created, a sweep owns the worker target, or more workers than the live hosts may run",
    413: "The body is over the size limit (1 MiB by default)",
    415: "The body is not JSON",
    422: "The Idempotency-Key was first used with a different batch",
    429: "Over FANOUT_RATE_LIMIT_SUBMIT (or _READ): `error` says the limit; see Retry-After",
    503: "Redis is unreachable",
}
#: A route's `<converter:name>`: its path parameter, and the converters' schemas.
PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
CONVERTERS = {"id": TypeAdapter(r.Id).json_schema()}


def error_statuses(operation: Operation, rule: Rule, method: str) -> list[int]:
    """What any /api/ operation of this shape may answer besides its replies."""
    codes = {401, 503, *operation.errors}
    codes |= {400} if operation.query or operation.body or operation.headers else set()
    codes |= {413, 415} if operation.body else set()
    codes |= {404} if rule.arguments else set()
    codes |= {429} if method in ("GET", "POST") else set()  # web.limits: reads and submissions
    return sorted(codes)


def _reply(reply: Reply) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    if reply.headers:
        answer["headers"] = {
            name: {"schema": {"type": "string"}} | ({"description": text} if text else {})
            for name, text in reply.headers.items()
        }
    refs = [{"$ref": REF_TEMPLATE.format(model=model.__name__)} for model in reply.models]
    if reply.media:
        kind = "object" if reply.media == JSON else "string"
        answer["content"] = {reply.media: {"schema": {"type": kind}}}
    elif refs:
        answer["content"] = {JSON: {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}}
    return answer


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    parameters = []
    for name, field in schema["properties"].items():
        field.pop("title", None)
        if field.get("default", 0) is None:  # absent, not null
            del field["default"]
        description = field.pop("description", "")
        parameters.append({"name": name, "in": "query", "required": False,
                           "description": description, "schema": field})  # fmt: skip
    return parameters


def _operation(operation: Operation, rule: Rule, method: str, settings: Settings) -> dict[str, Any]:
    api = rule.rule.startswith("/api/")
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": CONVERTERS.get(converter, TEXT)}
        for converter, name in PARAMETER.findall(rule.rule)
    ]
    parameters += _query(operation.query) if operation.query else []
    parameters += list(operation.headers)
    answer: dict[str, Any] = {"operationId": operation.operation_id, "summary": operation.summary}
    if parameters:
        answer["parameters"] = parameters
    if operation.body:
        schema = {"$ref": REF_TEMPLATE.format(model=operation.body.component)}
        answer["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    replies = dict(operation.replies)
    if api:
        for code in error_statuses(operation, rule, method):
            replies[code] = Reply(ERRORS[code], (r.Error,))
    replies[414] = HTML_414
    answer["responses"] = {str(code): _reply(reply) for code, reply in replies.items()}
    if operation.public:
        answer["security"] = []
    elif api and settings.api_token:
        answer["security"] = [{"bearer": []}]
    return answer


def _declarations(app: Flask) -> list[tuple[Rule, Operation]]:
    found = []
    for rule in app.url_map.iter_rules():
        operation = declared(app.view_functions[rule.endpoint]) or OTHERS.get(rule.endpoint)
        if operation is not None:
            found.append((rule, operation))
        elif rule.rule.startswith("/api/"):
            raise LookupError(f"{rule.rule} ({rule.endpoint}) has no @declare (web.operations)")
    return found


@lru_cache(maxsize=4)
def _app(settings: Settings) -> Flask:
    from web.app import create_app  # the app imports this module (for /openapi.json)

    return create_app({"SETTINGS": settings, "SECRET_KEY": "openapi"})


def openapi_document(settings: Settings, app: Flask | None = None) -> dict[str, Any]:
    """The whole document for `app`'s routes (by default the current app, or outside one the
    app create_app builds on these settings). With FANOUT_API_TOKEN set, /api/* declares bearer
    security."""
    if app is None:
        app = current_app if has_app_context() else _app(settings)
    paths: dict[str, dict[str, Any]] = {}
    models: dict[str, type[BaseModel]] = {"Error": r.Error}
    for rule, operation in _declarations(app):
        path = PARAMETER.sub(r"{\2}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                operation, rule, method, settings
            )
        for reply in operation.replies.values():
            models |= {model.__name__: model for model in reply.models}
    _, top = models_json_schema(
        [(model, "validation") for model in models.values()], ref_template=REF_TEMPLATE
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fanout",
            "version": "1.0.0",
            "description": "A job-queue concurrency lab: submit a batch of URLs, watch RQ workers "
            "fetch it under a strategy, read the timed records back.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(top.get("$defs", {})) | body_schemas(settings),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
