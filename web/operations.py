"""Each JSON API view declares itself once, next to its route: `@declare(...)` under `@bp.get`.

The declaration is what web.openapi documents (with the route's path parameters from the
url_map) and what the view is called with: its query model and request body, parsed here before
the view runs, the first refusal a 400 (web.queries, web.bodies). With CHECK_REPLIES set
(FANOUT_CHECK_REPLIES: every app the test suite makes) each answer is checked against the models
its status declares, which name every field, so a view that drifts from its declaration fails a
test, not a client.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, current_app, request
from pydantic import BaseModel

from web.api_common import json_body
from web.bodies import Body, parse
from web.clients import get_settings

View = Callable[..., Response]
POLL = "Accepted; poll the Location header's URL"


@dataclass(frozen=True)
class Reply:
    """One status's answer: a JSON body of one of `models`, or text of `media`, or nothing."""

    description: str
    models: tuple[type[BaseModel], ...] = ()
    media: str | None = None
    #: Response headers: name -> what it says.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    replies: Mapping[int, Reply]
    query: type[BaseModel] | None = None
    body: Body | None = None
    #: Request headers as OpenAPI parameter objects.
    headers: tuple[dict[str, Any], ...] = ()
    #: Error statuses besides those its shape implies (web.openapi.error_statuses).
    errors: tuple[int, ...] = ()
    #: Open even when FANOUT_API_TOKEN is set.
    public: bool = False


def ok(description: str, model: type[BaseModel]) -> dict[int, Reply]:
    return {200: Reply(description, (model,))}


def header(name: str, description: str, pattern: str | None = None) -> dict[str, Any]:
    schema = {"type": "string"} | ({"pattern": f"^{pattern}$"} if pattern else {})
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def declare(operation_id: str, summary: str, **details: Any) -> Callable[[View], View]:
    """The view's declaration (Operation's fields), and the view called with what it declares:
    `query=` and `body=` parsed, besides the route's path parameters."""
    operation = Operation(operation_id, summary, **details)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def validated(**args: Any) -> Response:
            if operation.query is not None:
                args["query"] = parse(operation.query, request.args.to_dict())
            if operation.body is not None:
                data = json_body(operation.body.what, object_only=operation.body.object_only)
                args["body"] = operation.body.read(get_settings(), data)
            response = view(**args)
            if current_app.config.get("CHECK_REPLIES"):
                check_reply(operation, response)
            return response

        validated.operation = operation  # type: ignore[attr-defined]  # read by declared()
        return validated

    return decorate


def declared(view: Callable[..., Any]) -> Operation | None:
    operation = getattr(view, "operation", None)
    return operation if isinstance(operation, Operation) else None


def check_reply(operation: Operation, response: Response) -> None:
    """Raises AssertionError unless the status is declared and the JSON body is valid, strictly,
    for one of its models: every declared field present and of its type, no other field."""
    reply = operation.replies.get(response.status_code)
    assert reply is not None, f"{operation.operation_id}: undeclared {response.status_code}"
    if not reply.models:
        return
    # Lone surrogates are valid JSON escapes that pydantic's parser refuses: types are checked.
    text = json.dumps(json.loads(response.get_data()), ensure_ascii=False)
    problems = []
    for model in reply.models:
        try:
            model.model_validate_json(text.encode("utf-8", "replace"), strict=True)
            return
        except ValueError as exc:
            problems.append(str(exc))
    assert not problems, f"{operation.operation_id} {response.status_code}: " + "; ".join(problems)
