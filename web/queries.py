"""The JSON API's query strings, declared as pydantic models like its bodies (web.bodies).

A view declares its model (web.operations) and gets it parsed; the OpenAPI document lists its
fields as the operation's parameters. Each field's check raises InvalidInput with the message the
API has always given, so a refusal names the field whatever the channel. Fields are checked in
the order they are declared: the first bad one is the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic_core import PydanticUseDefault, core_schema

from contract.verdicts import InvalidInput
from producer import stats
from producer.timeline import Window
from web.runview import MAX_PAGE_ROWS, PAGE_ROWS, SORT_KEYS, STATE_FILTERS, TableQuery

#: Tasks one GET returns by default, and at most: `?offset=` pages through bigger runs.
TASKS_PAGE = 5000
MAX_TASKS_PAGE = 20_000
#: The largest task index a query may name (the most URLs a run can hold, with room).
MAX_INDEX = 10_000_000
MAX_SECONDS = 10_000_000


def _name(info: ValidationInfo) -> str:
    return (info.field_name or "").rstrip("_")  # `from_` is `from` in the query


@dataclass(frozen=True)
class _Check:
    """A query field's check (raw text in, value out) and the JSON Schema it documents."""

    def check(self, raw: str, name: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_before_validator_function(
            lambda raw, info: self.check(raw, _name(info)), handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return self.schema()


@dataclass(frozen=True)
class Whole(_Check):
    """ASCII digits only: no sign, no exponent, no spaces (`int()` would take all three)."""

    low: int
    high: int

    def check(self, raw: str, name: str) -> int:
        digits = raw.isascii() and raw.isdigit() and len(raw) <= 9
        if not (digits and self.low <= int(raw) <= self.high):
            raise InvalidInput(
                name, f"{name} must be a whole number from {self.low} to {self.high}"
            )
        return int(raw)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


@dataclass(frozen=True)
class Flag(_Check):
    def check(self, raw: str, name: str) -> bool:
        if raw.lower() in ("1", "true", "yes"):
            return True
        if raw.lower() in ("0", "false", "no"):
            return False
        raise InvalidInput(name, f"{name} must be true or false (got {raw!r})")

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class OneOf(_Check):
    """One of `choices`; empty is the default (a form's unselected filter)."""

    choices: tuple[str, ...]

    def check(self, raw: str, name: str) -> str:
        if raw == "":
            raise PydanticUseDefault
        if raw not in self.choices:
            shown = ", ".join(self.choices)
            raise InvalidInput(name, f"{name} must be one of {shown} (got {raw[:40]!r})")
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True)
class Seconds(_Check):
    def check(self, raw: str, name: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not 0 <= value <= MAX_SECONDS:  # NaN compares false: refused too
            raise InvalidInput(name, f"{name} must be a number of seconds from 0 to {MAX_SECONDS}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "number", "minimum": 0, "maximum": MAX_SECONDS}


@dataclass(frozen=True)
class All(_Check):
    def check(self, raw: str, name: str) -> str:
        if raw != "all":
            raise InvalidInput(name, f"{name} must be all (fit the marked points too) or absent")
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": ["all"]}


class RunsQuery(BaseModel):
    limit: Annotated[int, Whole(1, 200), Field(description="Runs per page")] = 50
    offset: Annotated[int, Whole(0, 1_000_000), Field(description="Runs to skip")] = 0


class ComparisonQuery(BaseModel):
    tasks: Annotated[bool, Flag(), Field(description="Include every task record")] = True


class RunQuery(ComparisonQuery):
    since: Annotated[int | None, Whole(0, MAX_INDEX)] = Field(
        None,
        description="Only the tasks that ended after the first `since` (in the order they "
        "ended): a live page passes how many it already has",
    )
    offset: Annotated[int, Whole(0, MAX_INDEX)] = Field(
        0, description="Without `since`: tasks from this index on (a page by index)"
    )
    limit: Annotated[int, Whole(1, MAX_TASKS_PAGE)] = Field(
        TASKS_PAGE,
        description="Without `since`: at most this many tasks (`next_offset` names the next page)",
    )


class StatsQuery(BaseModel):
    window: Annotated[
        int, Whole(10, stats.MAX_WINDOW_S), Field(description="Seconds of history")
    ] = 300


class TableArgs(BaseModel):
    """The task table's query (the run page's links use the same arguments)."""

    sort: Annotated[str, OneOf(SORT_KEYS), Field(description="Column to sort by")] = "index"
    order: Annotated[str, OneOf(("asc", "desc")), Field(description="asc or desc")] = "asc"
    state: Annotated[str | None, OneOf(STATE_FILTERS)] = Field(
        None, description="Only tasks in this state"
    )
    offset: Annotated[int, Whole(0, MAX_INDEX), Field(description="Rows to skip")] = 0
    limit: Annotated[int, Whole(1, MAX_PAGE_ROWS), Field(description="Rows in the page")] = (
        PAGE_ROWS
    )

    def table_query(self) -> TableQuery:
        return TableQuery(self.sort, self.order == "desc", self.state, self.offset, self.limit)


class TimelineQuery(BaseModel):
    """`from`/`to` zoom in (a window ending before it starts is the instant `from`)."""

    from_: Annotated[float | None, Seconds()] = Field(
        None, alias="from", description="Zoomed window's start, seconds from the first start"
    )
    to: Annotated[float | None, Seconds()] = Field(
        None, description="Zoomed window's end (at or before `from`: the tasks running at `from`)"
    )
    since: Annotated[int | None, Whole(0, MAX_INDEX)] = Field(
        None,
        description="Without a window: only bars after the first `since` ended tasks (a live "
        "page's poll)",
    )

    def window(self) -> Window | None:
        start, end = self.from_, self.to
        if start is None and end is None:
            return None
        return Window(start or 0.0, None if end is None else max(end, start or 0.0))


class SweepQuery(BaseModel):
    fit: Annotated[
        Literal["all"] | None, All(), Field(description="all: fit the marked points too")
    ] = None
